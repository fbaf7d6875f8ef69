// spool_index: the live set rebuilt from journal records, and which segments
// each live message still needs. Applying records in journal order gives the
// state the journal describes. Not thread-safe: the owner locks.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "relay/spool/envelope.hpp"
#include "relay/spool/spool_records.hpp"

namespace chainmail::spool {

struct Entry {
    Envelope env;
    std::uint64_t seq = 0;          // segment holding the message bytes
    std::uint64_t body_offset = 0;  // file offset of the message bytes
    std::uint64_t record_size = 0;  // bytes of its message record
    std::set<std::uint64_t> segs;   // every segment holding a record it depends on
};

struct SegmentUse {
    std::uint64_t refs = 0;        // live messages depending on the segment
    std::uint64_t live_bytes = 0;  // bytes of their message records in it
};

class Index {
  public:
    // A message record; a later one for the same id (a compaction copy)
    // replaces the earlier.
    void put(Envelope env, std::uint64_t seq, std::uint64_t body_offset, std::uint64_t record_size);
    // State records; false when the id is not live or an index is out of range.
    bool update(const QueueId& id, const std::vector<RecipientUpdate>& changes, std::uint64_t seq);
    bool set_held(const QueueId& id, bool held, std::uint64_t seq);
    bool remove(const QueueId& id);
    bool set_delay_notice_sent(const QueueId& id, std::uint64_t seq);

    // Replays one record read from segment `seq` at file offset `offset`;
    // false when its payload does not decode.
    bool apply(const records::Header& h, std::uint64_t seq, std::uint64_t offset,
               std::string_view payload);

    const std::map<QueueId, Entry>& entries() const { return entries_; }
    const Entry* find(const QueueId& id) const;
    SegmentUse use(std::uint64_t seq) const;

  private:
    void ref(Entry& e, std::uint64_t seq);
    void unref_all(Entry& e);

    std::map<QueueId, Entry> entries_;
    std::map<std::uint64_t, SegmentUse> use_;
};

}  // namespace chainmail::spool
