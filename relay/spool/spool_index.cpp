// spool_index: replay of journal records into the live set.
#include "relay/spool/spool_index.hpp"

namespace chainmail::spool {

void Index::ref(Entry& e, std::uint64_t seq) {
    if (e.segs.insert(seq).second) ++use_[seq].refs;
}

void Index::unref_all(Entry& e) {
    for (std::uint64_t s : e.segs) {
        auto it = use_.find(s);
        if (it == use_.end()) continue;
        --it->second.refs;
        if (s == e.seq) it->second.live_bytes -= e.record_size;
        if (it->second.refs == 0) use_.erase(it);
    }
    e.segs.clear();
}

void Index::put(Envelope env, std::uint64_t seq, std::uint64_t body_offset,
                std::uint64_t record_size) {
    Entry& e = entries_[env.id];
    unref_all(e);
    e.env = std::move(env);
    e.seq = seq;
    e.body_offset = body_offset;
    e.record_size = record_size;
    ref(e, seq);
    use_[seq].live_bytes += record_size;
}

bool Index::update(const QueueId& id, const std::vector<RecipientUpdate>& changes,
                   std::uint64_t seq) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    auto& rcpts = it->second.env.recipients;
    for (const RecipientUpdate& u : changes)
        if (u.index >= rcpts.size()) return false;
    for (const RecipientUpdate& u : changes) {
        Recipient& r = rcpts[u.index];
        r.state = u.state;
        r.attempts = u.attempts;
        r.next_attempt_ms = u.next_attempt_ms;
        r.last_error = u.last_error;
    }
    ref(it->second, seq);
    return true;
}

bool Index::set_held(const QueueId& id, bool held, std::uint64_t seq) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    it->second.env.held = held;
    ref(it->second, seq);
    return true;
}

bool Index::set_delay_notice_sent(const QueueId& id, std::uint64_t seq) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    it->second.env.delay_notice_sent = true;
    ref(it->second, seq);
    return true;
}

bool Index::remove(const QueueId& id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    unref_all(it->second);
    entries_.erase(it);
    return true;
}

bool Index::apply(const records::Header& h, std::uint64_t seq, std::uint64_t offset,
                  std::string_view payload) {
    using records::Type;
    const std::uint64_t size = records::kHeaderSize + payload.size() + records::kTrailerSize;
    switch (h.type) {
        case Type::Message: {
            auto m = records::decode_message(h.id, payload);
            if (!m) return false;
            put(std::move(m->env), seq, offset + records::kHeaderSize + m->body_offset, size);
            return true;
        }
        case Type::Update: {
            auto u = records::decode_update(payload);
            if (!u) return false;
            update(h.id, *u, seq);  // for a message already removed: nothing to do
            return true;
        }
        case Type::Held: {
            auto held = records::decode_held(payload);
            if (!held) return false;
            set_held(h.id, *held, seq);
            return true;
        }
        case Type::Remove:
            remove(h.id);
            return true;
        case Type::Notice: {
            auto sent = records::decode_notice(payload);
            if (!sent) return false;
            if (*sent) set_delay_notice_sent(h.id, seq);
            return true;
        }
    }
    return false;
}

const Entry* Index::find(const QueueId& id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
}

SegmentUse Index::use(std::uint64_t seq) const {
    auto it = use_.find(seq);
    return it == use_.end() ? SegmentUse{} : it->second;
}

}  // namespace chainmail::spool
