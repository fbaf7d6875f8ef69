// group_commit: the writer thread. Every record that is pending when the
// previous sync ends goes into one writev and one fdatasync; the waiters are
// completed only after that sync, so an acknowledged record is on disk.
// Recipient-state records were already written by enqueue() at their place
// below tail_; the writer places the others after them and syncs the lot.
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "relay/spool/spool_fs.hpp"

namespace chainmail::spool {

namespace {
// Upper bound of the wait for the callers of the previous batch.
constexpr std::chrono::microseconds kMaxGather{2000};
}  // namespace

void SpoolFs::writer_loop() {
    std::vector<Op> batch;
    for (;;) {
        std::uint64_t first = 0, last = 0;
        std::error_code ec;
        std::chrono::steady_clock::time_point start;
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) return;  // stopping, and everything written
            // The callers of the last batch are still on their way back (their
            // completions were just posted). Without a short wait for them the
            // batches alternate between two halves of the callers; the wait is
            // a fraction of a sync and only while the batch is smaller than the
            // last one, so a lone caller never waits.
            const std::size_t target = last_batch_;
            if (pending_.size() < target)
                queue_cv_.wait_for(lock, std::min(last_sync_ / 4, kMaxGather),
                                   [&] { return stopping_ || pending_.size() >= target; });
            lock.unlock();
            if (broken_) ec = roll();  // takes queue_mutex_ itself
            lock.lock();
            batch.swap(pending_);
            // Records written early lie in [end_, tail_); the rest go after them.
            first = tail_;
            for (Op& op : batch) {
                if (op.written) continue;
                op.seq = active_->seq;
                op.offset = tail_;
                tail_ += op.rec.size();
            }
            last = tail_;
            // Written under the lock, so that a record written early never
            // lies behind a gap that a kill would leave unwritten.
            start = std::chrono::steady_clock::now();
            if (!ec)
                ec = place(first, slices_of(batch));
            else
                cut_off();
        }
        last_batch_ = batch.size();
        finish_batch(batch, last, ec);
        last_sync_ = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - start);
        batch.clear();
        if (end_ >= options_.segment_bytes || broken_) {
            if (auto rec = roll())
                spdlog::warn("spool {}: cannot start a new segment: {}", dir_, rec.message());
        }
        compact();
    }
}

std::vector<journal::Slice> SpoolFs::slices_of(const std::vector<Op>& batch) {
    std::vector<journal::Slice> slices;
    slices.reserve(batch.size() * 3);
    for (const Op& op : batch) {
        if (op.written) continue;
        slices.push_back({op.rec.head.data(), op.rec.head.size()});
        slices.push_back({op.rec.body.data(), op.rec.body.size()});
        slices.push_back({op.rec.tail.data(), op.rec.tail.size()});
    }
    return slices;
}

void SpoolFs::finish_batch(std::vector<Op>& batch, std::uint64_t last, std::error_code ec) {
    // Records written early before a roll lie in the segment before the
    // active one, synced there by roll(): each op names its own segment.
    if (!ec) ec = sync(last);
    std::vector<std::error_code> results(batch.size(), ec);
    if (!ec) {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            Op& op = batch[i];
            const std::uint64_t seq = op.seq;
            bool applied = std::visit(
                [&](auto& c) -> bool {
                    using C = std::decay_t<decltype(c)>;
                    if constexpr (std::is_same_v<C, Envelope>) {
                        index_.put(std::move(c), seq, op.offset + op.rec.body_offset(),
                                   op.rec.size());
                        return true;
                    } else if constexpr (std::is_same_v<C, std::vector<RecipientUpdate>>) {
                        return index_.update(op.id, c, seq);
                    } else if constexpr (std::is_same_v<C, bool>) {
                        return index_.set_held(op.id, c, seq);
                    } else if constexpr (std::is_same_v<C, DelayNotice>) {
                        return index_.set_delay_notice_sent(op.id, seq);
                    } else {
                        return index_.remove(op.id);
                    }
                },
                op.change);
            // Removed by another caller after this one was queued.
            if (!applied) results[i] = std::make_error_code(std::errc::no_such_file_or_directory);
        }
        records_ += batch.size();
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].waiter->complete(results[i]);
    if (!ec) {
        // New messages are durable and in the live set: tell the scheduler.
        std::lock_guard lock(listener_mutex_);
        if (listener_)
            for (const Op& op : batch)
                if (std::holds_alternative<Envelope>(op.change)) listener_(op.id);
    }
}

std::error_code SpoolFs::place(std::uint64_t offset, const std::vector<journal::Slice>& slices) {
    std::error_code ec = journal::write_all(active_->fd.get(), offset, slices);
    if (ec) cut_off();
    return ec;
}

std::error_code SpoolFs::sync(std::uint64_t new_end) {
    // Also covers the records written early, in [end_, new_end) and beyond.
    ++syncs_;
    if (::fdatasync(active_->fd.get()) != 0) {
        std::error_code ec{errno, std::generic_category()};
        std::lock_guard lock(queue_mutex_);
        cut_off();
        return ec;
    }
    end_ = new_end;
    std::lock_guard lock(mutex_);
    active_->size = end_;
    return {};
}

void SpoolFs::cut_off() {
    // Cut the failed write off so that later records follow good data; the
    // records written early since are cut too and written again by the writer.
    const int fd = active_->fd.get();
    if (::ftruncate(fd, static_cast<off_t>(end_)) != 0 || ::fdatasync(fd) != 0) {
        broken_ = true;
        spdlog::error("spool {}: cannot cut off a failed write: {}", dir_, std::strerror(errno));
    }
    tail_ = end_;
    for (Op& op : pending_) op.written = false;
}

std::error_code SpoolFs::roll() {
    auto seg = std::make_shared<Segment>();
    seg->seq = active_->seq + 1;
    if (auto ec = journal::create_segment(dir_, seg->seq, seg->fd)) return ec;
    seg->size = journal::kSegmentHeaderSize;
    std::shared_ptr<Segment> old;
    bool early = false;
    {
        std::lock_guard qlock(queue_mutex_);
        old = active_;
        // Records written early into the old segment (in [end_, tail_)) stay
        // there: cutting them off would lose a recipient's outcome to a kill
        // until the writer wrote it again. Without broken_ they follow good
        // data; with broken_ none were written (write_early() waits).
        early = tail_ > end_ && !broken_;
        if (broken_)
            for (Op& op : pending_) op.written = false;
        {
            std::lock_guard lock(mutex_);
            if (early) old->size = tail_;
            segments_[seg->seq] = seg;
        }
        active_ = std::move(seg);
        end_ = tail_ = journal::kSegmentHeaderSize;
        broken_ = false;
    }
    // Their callers complete only after the writer's next sync, so this one
    // (outside the lock: early writes go on into the new segment) comes first.
    if (early && ::fdatasync(old->fd.get()) != 0) {
        spdlog::warn("spool {}: cannot sync segment {}: {}; its last records are written again",
                     dir_, old->seq, std::strerror(errno));
        std::lock_guard qlock(queue_mutex_);
        for (Op& op : pending_)
            if (op.written && op.seq == old->seq) op.written = false;
    }
    return {};
}

}  // namespace chainmail::spool
