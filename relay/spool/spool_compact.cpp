// spool_compact: reclaiming segments. Segments are deleted oldest first, so a
// Remove record never disappears while an older copy of its message remains.
// When few live messages pin the oldest segment, they are copied forward (a
// full snapshot of envelope, state and bytes) and the segment is deleted.
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "relay/spool/spool_fs.hpp"

namespace chainmail::spool {

namespace {
// Bytes copied per writev and fdatasync during compaction.
constexpr std::uint64_t kCopyBatchBytes = 8ull << 20;
}  // namespace

void SpoolFs::compact() {
    bool copied = false;
    // Bounded: at most one copy per call, so commits are not starved.
    for (int round = 0; round < 1024; ++round) {
        std::uint64_t head = 0, size = 0;
        SegmentUse use;
        std::size_t sealed = 0;
        {
            std::lock_guard lock(mutex_);
            auto it = segments_.begin();
            if (it == segments_.end() || it->second == active_) return;
            head = it->first;
            size = it->second->size;
            use = index_.use(head);
            sealed = segments_.size() - 1;
        }
        if (use.refs == 0) {
            delete_segment(head);
            continue;
        }
        const bool sparse = static_cast<double>(use.live_bytes) <=
                            options_.compact_live_fraction * static_cast<double>(size);
        if (copied || (!sparse && sealed <= options_.max_sealed_segments)) return;
        if (auto ec = copy_forward(head)) {
            spdlog::warn("spool {}: compaction of segment {} failed: {}", dir_, head, ec.message());
            return;
        }
        copied = true;
        ++compactions_;
    }
}

std::error_code SpoolFs::copy_forward(std::uint64_t seq) {
    std::vector<QueueId> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, e] : index_.entries())
            if (e.segs.count(seq)) ids.push_back(id);
    }
    std::size_t i = 0;
    while (i < ids.size()) {
        // The message bytes never change: read them without holding a lock.
        std::vector<std::pair<QueueId, std::string>> bodies;
        std::uint64_t bytes = 0;
        for (; i < ids.size() && bytes < kCopyBatchBytes; ++i) {
            std::shared_ptr<Segment> src;
            std::uint64_t offset = 0, size = 0;
            {
                std::lock_guard lock(mutex_);
                const Entry* e = index_.find(ids[i]);
                if (!e) continue;
                offset = e->body_offset;
                size = e->env.size;
                src = segments_.at(e->seq);
            }
            std::string body(size, '\0');
            if (auto ec = journal::read_exact(src->fd.get(), offset, body.data(), body.size()))
                return ec;
            bytes += body.size();
            bodies.emplace_back(ids[i], std::move(body));
        }
        if (broken_) {
            if (auto ec = roll()) return ec;
        }
        std::vector<records::Encoded> recs;
        std::vector<Envelope> envs;
        std::vector<std::uint64_t> offsets;
        std::uint64_t first = 0, last = 0;
        {
            // The snapshot of each envelope and its place are taken together:
            // a state record written early after this lands behind the copy.
            // A message with a state record written early but not yet applied
            // waits for a later round, as its copy would hide that record.
            std::lock_guard qlock(queue_mutex_);
            std::lock_guard lock(mutex_);
            first = tail_;
            for (auto& [id, body] : bodies) {
                const Entry* e = index_.find(id);
                if (!e) continue;
                const bool in_flight = std::any_of(pending_.begin(), pending_.end(),
                                                   [&](const Op& op) { return op.id == id; });
                if (in_flight) continue;
                recs.push_back(records::encode_message(e->env, std::move(body)));
                envs.push_back(e->env);
                offsets.push_back(tail_);
                tail_ += recs.back().size();
            }
            last = tail_;
            std::vector<journal::Slice> slices;
            for (const auto& r : recs) {
                slices.push_back({r.head.data(), r.head.size()});
                slices.push_back({r.body.data(), r.body.size()});
                slices.push_back({r.tail.data(), r.tail.size()});
            }
            if (auto ec = place(first, slices)) return ec;
        }
        const std::uint64_t target = active_->seq;
        if (auto ec = sync(last)) return ec;
        {
            std::lock_guard lock(mutex_);
            for (std::size_t k = 0; k < recs.size(); ++k)
                index_.put(std::move(envs[k]), target, offsets[k] + recs[k].body_offset(),
                           recs[k].size());
        }
        records_ += recs.size();
        if (end_ >= options_.segment_bytes) {
            if (auto ec = roll()) return ec;
        }
    }
    return {};
}

void SpoolFs::delete_segment(std::uint64_t seq) {
    {
        std::lock_guard lock(mutex_);
        segments_.erase(seq);  // readers holding it keep the open file
    }
    const std::string path = journal::segment_path(dir_, seq);
    if (::unlink(path.c_str()) != 0)
        spdlog::warn("spool {}: cannot delete {}: {}", dir_, path, std::strerror(errno));
    if (auto ec = journal::fsync_dir(dir_))
        spdlog::warn("spool {}: sync of the directory: {}", dir_, ec.message());
}

}  // namespace chainmail::spool
