// spool_fs: the journal spool. One writer thread owns the active segment:
// it takes every pending record, writes them with one writev and one
// fdatasync, applies them to the live set, then completes each waiter. A
// recipient-state record is written to the kernel at once by its caller
// (a killed process loses no written page); only its fdatasync is grouped.
#pragma once

#include <atomic>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>

#include "relay/spool/group_commit.hpp"
#include "relay/spool/spool.hpp"
#include "relay/spool/spool_index.hpp"
#include "relay/spool/spool_journal.hpp"

namespace chainmail::spool {

class SpoolFs final : public Spool {
  public:
    // Locks `dir`, recovers it and starts the writer; throws on failure.
    SpoolFs(std::string dir, SpoolOptions options);
    ~SpoolFs() override;  // writes what is pending, then stops

    boost::asio::awaitable<std::error_code> commit(Envelope& env, std::string message) override;
    boost::asio::awaitable<std::error_code> update(const QueueId& id,
                                                   std::vector<RecipientUpdate> changes) override;
    boost::asio::awaitable<std::error_code> commit_with_update(
        std::vector<NewMessage>& messages, const QueueId& id,
        std::vector<RecipientUpdate> changes) override;
    boost::asio::awaitable<std::error_code> set_held(const QueueId& id, bool held) override;
    boost::asio::awaitable<std::error_code> remove(const QueueId& id) override;
    boost::asio::awaitable<std::error_code> mark_delay_notice_sent(const QueueId& id) override;
    void set_commit_listener(std::function<void(const QueueId&)> listener) override;

    std::vector<Envelope> live() const override;
    std::optional<Envelope> find(const QueueId& id) const override;
    std::error_code read_message(const QueueId& id, std::string& out) const override;
    SpoolStats stats() const override;

  private:
    struct Segment {
        std::uint64_t seq = 0;
        journal::Fd fd;
        std::uint64_t size = 0;  // bytes, fixed once sealed
    };
    struct Removal {};
    struct DelayNotice {};
    using Change = std::variant<Envelope, std::vector<RecipientUpdate>, bool, Removal, DelayNotice>;
    struct Op {
        records::Encoded rec;
        QueueId id;
        Change change;
        std::unique_ptr<Waiter> waiter;
        std::uint64_t seq = 0;     // the segment it was placed in
        std::uint64_t offset = 0;  // in that segment, once placed
        bool written = false;      // written early by enqueue(), not yet synced
    };

    template <typename Token>
    auto submit(Op op, Token&& token) {
        return boost::asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler, Op o) {
                o.waiter = std::make_unique<HandlerWaiter<decltype(handler)>>(std::move(handler));
                enqueue(std::move(o));
            },
            token, std::move(op));
    }
    boost::asio::awaitable<std::error_code> submit(Op op);
    // The ops of one group: queued together, so that they share a batch and
    // lie in the journal in this order; none is written early. The last op's
    // result is the group's (a failed sync fails every op alike).
    template <typename Token>
    auto submit_group(std::vector<Op> ops, Token&& token) {
        return boost::asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler, std::vector<Op> g) {
                for (Op& o : g) o.waiter = std::make_unique<SilentWaiter>();
                g.back().waiter =
                    std::make_unique<HandlerWaiter<decltype(handler)>>(std::move(handler));
                enqueue_group(std::move(g));
            },
            token, std::move(ops));
    }
    // The message is live and every change names one of its recipients.
    std::error_code check_update(const QueueId& id,
                                 const std::vector<RecipientUpdate>& changes) const;
    // Checks and encodes a new message (commit, commit_with_update).
    std::error_code message_op(Envelope& env, std::string message, Op& op) const;
    // A state record for a live message; no_such_file_or_directory otherwise.
    boost::asio::awaitable<std::error_code> submit_change(const QueueId& id, records::Encoded rec,
                                                          Change change);
    void enqueue(Op op);
    void enqueue_group(std::vector<Op> ops);
    void write_early(Op& op);  // queue_mutex_ held

    void recover();
    // Writer thread (group_commit.cpp).
    void writer_loop();
    static std::vector<journal::Slice> slices_of(const std::vector<Op>& batch);
    // Syncs, applies and completes a batch already placed and written.
    void finish_batch(std::vector<Op>& batch, std::uint64_t last, std::error_code ec);
    // queue_mutex_ held: writes `slices` at `offset` in the active segment.
    std::error_code place(std::uint64_t offset, const std::vector<journal::Slice>& slices);
    // Syncs the active segment; on success everything up to `new_end` is durable.
    std::error_code sync(std::uint64_t new_end);
    // queue_mutex_ held, after a failed write: back to end_, early writes redone.
    void cut_off();
    // A new active segment. Records written early into the old one stay
    // there: they are synced there, never cut off (a kill keeps them).
    std::error_code roll();
    // Compaction (spool_compact.cpp), on the writer thread between batches.
    void compact();
    std::error_code copy_forward(std::uint64_t seq);
    void delete_segment(std::uint64_t seq);

    const std::string dir_;
    const SpoolOptions options_;
    journal::Fd lock_;

    mutable std::mutex mutex_;  // guards index_ and segments_
    Index index_;
    std::map<std::uint64_t, std::shared_ptr<Segment>> segments_;

    // Owned by the writer thread once it runs; active_ and broken_ change only
    // under queue_mutex_ too, as enqueue() writes early into active_.
    std::shared_ptr<Segment> active_;
    std::uint64_t end_ = 0;  // end of the durable records in active_
    bool broken_ = false;    // active_ holds bytes that could not be cut off
    std::size_t last_batch_ = 0;
    std::chrono::microseconds last_sync_{0};  // duration of the last write and sync

    std::mutex queue_mutex_;  // guards pending_, tail_ and the places in active_
    std::condition_variable queue_cv_;
    std::vector<Op> pending_;
    std::uint64_t tail_ = 0;  // where the next record goes in active_ (>= end_)
    bool stopping_ = false;

    std::mutex listener_mutex_;
    std::function<void(const QueueId&)> listener_;

    std::atomic<std::uint64_t> syncs_{0}, records_{0}, compactions_{0};
    std::thread writer_;
};

}  // namespace chainmail::spool
