// spool_scan: a read-only view of a spool that a running serve may be
// writing: no lock, no repair; a half-written tail is simply not a record.
#include <fcntl.h>

#include "relay/spool/spool.hpp"
#include "relay/spool/spool_index.hpp"
#include "relay/spool/spool_journal.hpp"

namespace chainmail::spool {

std::vector<Envelope> scan_spool(const std::string& dir) {
    Index index;
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
                    index.apply(h, seq, off, payload);
                });
        }
        if (!any) break;
    }
    std::vector<Envelope> out;
    out.reserve(index.entries().size());
    for (const auto& [id, e] : index.entries()) out.push_back(e.env);
    return out;
}

}  // namespace chainmail::spool
