// scheduler: due recipients grouped per destination, under the caps.
#include "relay/schedule/scheduler.hpp"

#include <algorithm>
#include <limits>

#include "policy/partner_match.hpp"

namespace chainmail::schedule {

std::string destination_of(const config::Config& config, std::string_view rcpt) {
    const std::string domain = policy::normalize_domain(policy::domain_of(rcpt));
    const policy::PartnerMatch m = policy::match_partner(config.partners, config.defaults, domain);
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

void Scheduler::unindex(const spool::QueueId& id, Msg& m) {
    for (const auto& [t, dest] : m.slots) {
        waiting_.erase({t, dest, id});
        drop_ready(dest, id);
    }
    m.slots.clear();
}

void Scheduler::drop_ready(const std::string& dest, const spool::QueueId& id) {
    auto r = ready_.find(dest);
    if (r == ready_.end()) return;
    r->second.erase(id);
    if (!r->second.empty()) return;
    // Its due mail is all gone (taken, settled, deleted or stale): the
    // destination's slow start begins afresh with its next mail.
    ready_.erase(r);
    backlog_since_.erase(dest);
}

void Scheduler::index(const spool::QueueId& id, Msg& m) {
    std::map<std::string, std::int64_t> earliest;
    for (std::size_t i = 0; i < m.rcpts.size(); ++i) {
        const Rcpt& r = m.rcpts[i];
        if (!r.pending || in_flight_.count({id, i})) continue;
        auto [it, fresh] = earliest.try_emplace(r.dest, r.next_ms);
        if (!fresh) it->second = std::min(it->second, r.next_ms);
    }
    // Everything starts out waiting; promote() moves what is due to ready_.
    for (const auto& [dest, t] : earliest) {
        waiting_.insert({t, dest, id});
        m.slots.emplace_back(t, dest);
    }
}

void Scheduler::promote(std::int64_t now_ms) {
    while (!waiting_.empty() && std::get<0>(*waiting_.begin()) <= now_ms) {
        auto node = waiting_.extract(waiting_.begin());
        const auto& [t, dest, id] = node.value();
        ready_[dest].insert(id);
    }
}

Batch Scheduler::take_due(const spool::QueueId& id, const std::string& dest, std::int64_t now_ms) {
    Batch b;
    auto it = msgs_.find(id);
    if (it == msgs_.end()) return b;
    Msg& m = it->second;
    b.id = id;
    for (std::size_t i = 0; i < m.rcpts.size(); ++i) {
        const Rcpt& r = m.rcpts[i];
        if (r.pending && r.next_ms <= now_ms && r.dest == dest && !in_flight_.count({id, i}))
            b.rcpts.push_back(i);
    }
    take(b);
    // What is left of the message (other destinations, later retries) stays indexed.
    unindex(id, m);
    index(id, m);
    return b;
}

void Scheduler::rebuild(const std::vector<spool::Envelope>& live) {
    msgs_.clear();
    waiting_.clear();
    ready_.clear();
    backlog_since_.clear();
    for (const spool::Envelope& env : live) refresh(env.id, env);
}

void Scheduler::refresh(const spool::QueueId& id, const std::optional<spool::Envelope>& env) {
    if (auto it = msgs_.find(id); it != msgs_.end()) {
        unindex(id, it->second);
        msgs_.erase(it);
    }
    if (!env || env->held) return;
    Msg m;
    bool pending = false;
    m.rcpts.reserve(env->recipients.size());
    for (const spool::Recipient& r : env->recipients) {
        Rcpt x;
        x.pending = r.state == spool::RcptState::Pending;
        if (x.pending) {
            pending = true;
            x.dest = destination_of(*config_, r.address);
            x.next_ms = r.next_attempt_ms;
        }
        m.rcpts.push_back(std::move(x));
    }
    if (!pending) return;
    Msg& slot = msgs_[id] = std::move(m);
    index(id, slot);
}

Pick Scheduler::next(std::int64_t now_ms) {
    const int per_dest = std::max(1, config_->delivery.concurrency_per_destination);
    const int max_total = std::max(1, config_->delivery.max_concurrency);
    promote(now_ms);
    Pick pick;
    if (msgs_.empty()) return pick;  // Empty
    // The oldest due message among the destinations that may open a connection.
    std::int64_t grow_at = std::numeric_limits<std::int64_t>::max();
    while (total_ < max_total) {
        const std::string* best_dest = nullptr;
        const spool::QueueId* best_id = nullptr;
        for (const auto& [dest, ids] : ready_) {
            if (idle_.count(dest)) continue;
            const int c = cap(dest, now_ms);
            if (active(dest) >= c) {
                if (c < per_dest) grow_at = std::min(grow_at, backlog_since_[dest] + kGrowAfterMs);
                continue;
            }
            if (!best_id || *ids.begin() < *best_id) {
                best_dest = &dest;
                best_id = &*ids.begin();
            }
        }
        if (!best_id) break;
        const std::string dest = *best_dest;
        const spool::QueueId id = *best_id;
        Batch b = take_due(id, dest, now_ms);
        if (b.rcpts.empty()) {  // nothing left to send there: drop the stale entry
            drop_ready(dest, id);
            continue;
        }
        ++active_[dest];
        ++total_;
        pick.kind = Pick::Kind::Ready;
        pick.destination = dest;
        pick.batch = std::move(b);
        return pick;
    }
    pick.kind = Pick::Kind::Sleep;
    // Everything due is capped (or in flight): the next retry, a release(),
    // or the end of a slow start wakes us.
    pick.wake_ms = waiting_.empty() ? now_ms + 60'000 : std::get<0>(*waiting_.begin());
    pick.wake_ms = std::min(pick.wake_ms, grow_at);
    return pick;
}

Batch Scheduler::next_for(const std::string& destination, std::int64_t now_ms) {
    promote(now_ms);
    for (;;) {
        auto r = ready_.find(destination);
        if (r == ready_.end()) return {};
        const spool::QueueId id = *r->second.begin();
        Batch b = take_due(id, destination, now_ms);
        if (!b.rcpts.empty()) return b;
        drop_ready(destination, id);  // stale entry: drop it, look further
    }
}

void Scheduler::set_idle(const std::string& destination, bool idle) {
    if (idle) {
        ++idle_[destination];
        return;
    }
    auto it = idle_.find(destination);
    if (it != idle_.end() && --it->second <= 0) idle_.erase(it);
}

bool Scheduler::has_due(const std::string& destination, std::int64_t now_ms) {
    promote(now_ms);
    return ready_.count(destination) > 0;
}

bool Scheduler::starved(std::int64_t now_ms) {
    const int max_total = std::max(1, config_->delivery.max_concurrency);
    if (idle_.empty() || total_ < max_total) return false;
    promote(now_ms);
    for (const auto& [dest, ids] : ready_)
        if (!idle_.count(dest) && active(dest) < cap(dest, now_ms)) return true;
    return false;
}

int Scheduler::cap(const std::string& destination, std::int64_t now_ms) {
    const int full = std::max(1, config_->delivery.concurrency_per_destination);
    const int first = std::clamp(config_->delivery.initial_concurrency_per_destination, 1, full);
    if (active(destination) < first) return full;
    const auto [it, fresh] = backlog_since_.try_emplace(destination, now_ms);
    return now_ms - it->second >= kGrowAfterMs ? full : first;
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

bool Scheduler::in_flight(const spool::QueueId& id) const {
    auto it = in_flight_.lower_bound({id, 0});
    return it != in_flight_.end() && it->first == id;
}

int Scheduler::active(const std::string& destination) const {
    auto it = active_.find(destination);
    return it == active_.end() ? 0 : it->second;
}

}  // namespace chainmail::schedule
