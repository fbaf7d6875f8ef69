// scheduler: due recipients grouped per destination, under the caps.
#include "relay/schedule/scheduler.hpp"

#include <algorithm>
#include <limits>

#include "policy/partner_match.hpp"

namespace chainmail::schedule {

std::string destination_of(const config::Config& config, std::string_view rcpt) {
    const std::string domain = policy::normalize_domain(policy::domain_of(rcpt));
    const policy::PartnerMatch m = policy::match_partner(config, domain);
    // The partner's name is part of the key: a connection opened under one
    // partner's TLS requirement never carries another partner's mail.
    if (m.partner->next_hop) return m.partner->name + " " + m.partner->next_hop->str();
    return m.partner->name + " " + domain;
}

bool Scheduler::due(const spool::Envelope& env, std::size_t i, std::int64_t now_ms) const {
    const spool::Recipient& r = env.recipients[i];
    return r.state == spool::RcptState::Pending && r.next_attempt_ms <= now_ms &&
           !in_flight_.count({env.id, i});
}

void Scheduler::take(const Batch& b) {
    for (std::size_t i : b.rcpts) in_flight_.insert({b.id, i});
}

Pick Scheduler::next(const std::vector<spool::Envelope>& live, std::int64_t now_ms) {
    const int per_dest = std::max(1, config_->delivery.concurrency_per_destination);
    const int max_total = std::max(1, config_->delivery.max_concurrency);
    Pick pick;
    std::int64_t wake = std::numeric_limits<std::int64_t>::max();
    bool pending = false;
    // live() is ordered by queue id, which sorts by arrival: oldest first.
    for (const spool::Envelope& env : live) {
        if (env.held) continue;
        std::map<std::string, Batch> by_dest;
        for (std::size_t i = 0; i < env.recipients.size(); ++i) {
            const spool::Recipient& r = env.recipients[i];
            if (r.state != spool::RcptState::Pending) continue;
            pending = true;
            if (in_flight_.count({env.id, i})) continue;
            if (r.next_attempt_ms > now_ms) {
                wake = std::min(wake, r.next_attempt_ms);
                continue;
            }
            Batch& b = by_dest[destination_of(*config_, r.address)];
            b.id = env.id;
            b.rcpts.push_back(i);
        }
        for (auto& [dest, batch] : by_dest) {
            if (total_ >= max_total || active(dest) >= per_dest) continue;
            take(batch);
            ++active_[dest];
            ++total_;
            pick.kind = Pick::Kind::Ready;
            pick.destination = dest;
            pick.batch = std::move(batch);
            return pick;
        }
    }
    if (!pending) return pick;  // Empty
    pick.kind = Pick::Kind::Sleep;
    // Everything due is capped (or in flight): the next retry, or a release(), wakes us.
    pick.wake_ms = wake == std::numeric_limits<std::int64_t>::max() ? now_ms + 60'000 : wake;
    return pick;
}

Batch Scheduler::next_for(const std::string& destination, const std::vector<spool::Envelope>& live,
                          std::int64_t now_ms) {
    for (const spool::Envelope& env : live) {
        if (env.held) continue;
        Batch b;
        b.id = env.id;
        for (std::size_t i = 0; i < env.recipients.size(); ++i)
            if (due(env, i, now_ms) &&
                destination_of(*config_, env.recipients[i].address) == destination)
                b.rcpts.push_back(i);
        if (b.rcpts.empty()) continue;
        take(b);
        return b;
    }
    return {};
}

void Scheduler::done(const Batch& batch) {
    for (std::size_t i : batch.rcpts) in_flight_.erase({batch.id, i});
}

void Scheduler::release(const std::string& destination) {
    auto it = active_.find(destination);
    if (it == active_.end()) return;
    if (--it->second <= 0) active_.erase(it);
    --total_;
}

int Scheduler::active(const std::string& destination) const {
    auto it = active_.find(destination);
    return it == active_.end() ? 0 : it->second;
}

}  // namespace chainmail::schedule
