// spool: the queue on disk that joins acceptance and delivery. commit() and
// update() return only when their records are durable (group commit: one
// sync covers every caller waiting at that moment). A record without its END
// marker and checksum is never taken for a message. Thread-safe; completion
// handlers run on the caller's executor.
#pragma once

// First: Boost 1.74's awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "relay/spool/envelope.hpp"

namespace chainmail::spool {

struct SpoolStats {
    std::uint64_t syncs = 0;          // fdatasync/fsync calls made
    std::uint64_t records = 0;        // records made durable
    std::uint64_t live_messages = 0;  // messages with recipients still pending or NDR due
    std::uint64_t held_messages = 0;  // of those, held (on_tls_failure: hold, `queue hold`)
    std::uint64_t segments = 0;       // journal segment files in use
    std::uint64_t compactions = 0;    // segments emptied by copying their live messages forward
};

// Tuning of the journal; the defaults suit a production spool.
struct SpoolOptions {
    std::uint64_t segment_bytes = 64ull << 20;  // a segment rolls over past this size
    // The oldest segment is compacted (its live messages copied forward, then
    // the file deleted) once they fill at most this fraction of it...
    double compact_live_fraction = 0.25;
    // ...or whatever they fill, once this many full segments wait behind it.
    std::size_t max_sealed_segments = 8;
};

// A message to commit together with a state change (commit_with_update).
struct NewMessage {
    Envelope env;
    std::string bytes;
};

class Spool {
  public:
    virtual ~Spool() = default;

    // env.arrival_ms is the caller's time of acceptance (unix ms; 0 is
    // refused with invalid_argument). Assigns env.id if unset; durable when it
    // returns an empty error_code. On any error nothing may be acknowledged.
    virtual boost::asio::awaitable<std::error_code> commit(Envelope& env, std::string message) = 0;

    // Durable per-recipient state changes.
    virtual boost::asio::awaitable<std::error_code> update(
        const QueueId& id, std::vector<RecipientUpdate> changes) = 0;

    // Commits `messages` (reports) and applies `changes` to message `id` as
    // one group: the messages' records lie before the update's in the
    // journal and share its sync, so a process killed at any moment leaves
    // either none of them or the messages first; the new states are never
    // found without them (a Failed recipient never without its report,
    // relay/schedule/GUARANTEE.md). Assigns each env.id; durable when it
    // returns an empty error_code.
    virtual boost::asio::awaitable<std::error_code> commit_with_update(
        std::vector<NewMessage>& messages, const QueueId& id,
        std::vector<RecipientUpdate> changes) = 0;

    // Held flag (queue hold / release).
    virtual boost::asio::awaitable<std::error_code> set_held(const QueueId& id, bool held) = 0;

    // Records durably that the message's delay notice was sent (at most one).
    virtual boost::asio::awaitable<std::error_code> mark_delay_notice_sent(const QueueId& id) {
        (void)id;
        co_return std::make_error_code(std::errc::operation_not_supported);
    }

    // Called after each commit() is durable, on the spool's own thread (the
    // listener must only post work elsewhere); lets delivery start at once
    // instead of polling. One listener; an empty function removes it.
    virtual void set_commit_listener(std::function<void(const QueueId&)> listener) {
        (void)listener;
    }

    // The message is finished (every recipient delivered or failed and
    // reported, or an operator deleted it); its space may be reclaimed.
    virtual boost::asio::awaitable<std::error_code> remove(const QueueId& id) = 0;

    // The live messages, as of now.
    virtual std::vector<Envelope> live() const = 0;
    virtual std::optional<Envelope> find(const QueueId& id) const = 0;

    // The message bytes as received (Received: header included), CRLF lines.
    virtual std::error_code read_message(const QueueId& id, std::string& out) const = 0;

    virtual SpoolStats stats() const = 0;
};

// Opens (creating if needed) the spool in `dir`, discards half-written data
// from a crash and loads every complete live message. Throws on start-up
// failure (unreadable directory, lock held by another serve).
std::unique_ptr<Spool> open_spool(const std::string& dir);
std::unique_ptr<Spool> open_spool(const std::string& dir, const SpoolOptions& options);

// Reads the spool without locking or repairing it, for `chainmail queue`
// while serve runs. Half-written tails are skipped, never shown.
std::vector<Envelope> scan_spool(const std::string& dir);

// One message as read_spool_messages found it.
struct SpooledMessage {
    QueueId id;
    std::error_code error;  // no_such_file_or_directory: not a live message
    std::string bytes;      // as received (Received: header included), CRLF lines
};

// The bytes of the messages `ids`, read like scan_spool (no lock, no repair,
// nothing written), so it works while serve runs. One result per id, in order.
std::vector<SpooledMessage> read_spool_messages(const std::string& dir,
                                                const std::vector<QueueId>& ids);

// Sortable unique id (ULID) for a message arriving at `unix_ms`.
QueueId make_queue_id(std::int64_t unix_ms);

}  // namespace chainmail::spool
