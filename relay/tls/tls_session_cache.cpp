#include "relay/tls/tls_session_cache.hpp"

#include <ctime>

namespace chainmail::tls {

void SessionCache::put(const std::string& key, SslSessionPtr session, CachedFacts facts) {
    if (!session || max_ == 0) return;
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
        order_.erase(it->second.order);
        entries_.erase(it);
    }
    while (entries_.size() >= max_ && !order_.empty()) {
        entries_.erase(order_.front());
        order_.pop_front();
    }
    order_.push_back(key);
    entries_.emplace(key, Entry{std::move(session), std::move(facts), std::prev(order_.end())});
}

SslSessionPtr SessionCache::take(const std::string& key, CachedFacts& facts) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    SslSessionPtr s = std::move(it->second.session);
    facts = std::move(it->second.facts);
    order_.erase(it->second.order);
    entries_.erase(it);
    const long now = static_cast<long>(std::time(nullptr));
    if (SSL_SESSION_get_time(s.get()) + SSL_SESSION_get_timeout(s.get()) <= now) return nullptr;
    return s;
}

std::size_t SessionCache::size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

}  // namespace chainmail::tls
