// spool_scan: a read-only view of a spool that a running serve may be
// writing: no lock, no repair; a half-written tail is simply not a record.
#include <fcntl.h>

#include <functional>
#include <map>
#include <set>

#include "relay/spool/spool.hpp"
#include "relay/spool/spool_index.hpp"
#include "relay/spool/spool_journal.hpp"

namespace chainmail::spool {

namespace {

// Sees a record that Index::apply accepted, while its payload is in memory.
using AppliedFn = std::function<void(const records::Header&, std::string_view payload)>;

// Replays every segment into `index`.
void scan_all(const std::string& dir, Index& index, const AppliedFn& on_applied) {
    std::uint64_t done = 0;
    // Segments created while we read (roll-over, compaction) are read in a
    // further round; bounded, as a busy spool always has a newer one.
    for (int round = 0; round < 8; ++round) {
        bool any = false;
        for (std::uint64_t seq : journal::list_segments(dir)) {
            if (seq <= done) continue;
            journal::Fd fd(::open(journal::segment_path(dir, seq).c_str(), O_RDONLY | O_CLOEXEC));
            done = seq;
            if (!fd) continue;  // deleted by compaction after its messages moved on
            any = true;
            journal::scan_segment(
                fd.get(), seq,
                [&](const records::Header& h, std::uint64_t off, std::string_view payload) {
                    if (index.apply(h, seq, off, payload) && on_applied) on_applied(h, payload);
                });
        }
        if (!any) break;
    }
}

}  // namespace

std::vector<Envelope> scan_spool(const std::string& dir) {
    Index index;
    scan_all(dir, index, {});
    std::vector<Envelope> out;
    out.reserve(index.entries().size());
    for (const auto& [id, e] : index.entries()) out.push_back(e.env);
    return out;
}

std::vector<SpooledMessage> read_spool_messages(const std::string& dir,
                                                const std::vector<QueueId>& ids) {
    const std::set<QueueId> wanted(ids.begin(), ids.end());
    Index index;
    // The bytes are taken from the record just checked (CRC and END), not
    // read again later: compaction may delete its segment meanwhile. A later
    // copy of the same message (compaction) replaces the earlier.
    std::map<QueueId, std::string> bytes;
    scan_all(dir, index, [&](const records::Header& h, std::string_view payload) {
        if (h.type != records::Type::Message || !wanted.contains(h.id)) return;
        // Index::apply just decoded it: the message bytes end the payload.
        const Entry* e = index.find(h.id);
        if (!e || e->env.size > payload.size()) return;
        bytes[h.id] = std::string(payload.substr(payload.size() - e->env.size));
    });
    std::vector<SpooledMessage> out;
    out.reserve(ids.size());
    for (const QueueId& id : ids) {
        SpooledMessage m{.id = id};
        auto it = bytes.find(id);
        if (index.find(id) && it != bytes.end())
            m.bytes = std::move(it->second);
        else
            m.error = std::make_error_code(std::errc::no_such_file_or_directory);
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace chainmail::spool
