// scheduler: which recipients to attempt now. next(now) → Ready (a
// destination and one message's due recipients, with a worker slot taken),
// Sleep (until the earliest retry) or Empty, from an index of the queue kept
// by rebuild()/refresh(). Pure: no I/O, time passed in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "relay/spool/envelope.hpp"

namespace chainmail::schedule {

// THE DELIVERY GUARANTEE (also relay/schedule/GUARANTEE.md).
//
// Every recipient has its own state in the spool (Pending, Delivered,
// Failed). The delivery worker writes a recipient's new state durably
// (Spool::update, fsync'ed) right after the next hop's reply to the message,
// before anything else happens to that recipient or to the message: before
// the log line, before a report, before the next transaction on the same
// connection and before the next host is tried. The scheduler only ever
// picks Pending recipients, and never one that is in flight. Hence:
//
// - a recipient marked Delivered is never sent the message again, not after
//   a restart and not because another recipient of the same message failed;
// - a recipient that failed permanently is never retried;
// - the one window: a crash (or power loss) after the next hop's 250 to the
//   final dot and before our update is durable leaves the recipient Pending,
//   so it is delivered a second time after the restart. Postfix and every
//   other store-and-forward MTA have the same window (RFC 1047); it is a few
//   milliseconds wide (one fdatasync).
//
// Reports: a recipient whose failure the sender is told of gets its Failed
// state in the same journal group as its report, the report's record first
// (Spool::commit_with_update), so a crash leaves both, the report alone, or
// neither (then the recipient is still Pending and tried again); never a
// failed recipient whose sender is not told. The log line follows the
// durable state, so a line never claims what the spool does not hold.

// Where a recipient goes: its partner's name and the partner's next_hop
// ("[h]:p" or "h:p"), else its domain (lower case). One connection serves
// one destination.
std::string destination_of(const config::Config& config, std::string_view rcpt);

// One message's recipients that are due for one destination.
struct Batch {
    spool::QueueId id;
    std::vector<std::size_t> rcpts;  // indexes into Envelope::recipients
};

struct Pick {
    enum class Kind { Ready, Sleep, Empty };
    Kind kind = Kind::Empty;
    std::string destination;   // Ready
    Batch batch;               // Ready
    std::int64_t wake_ms = 0;  // Sleep: the earliest next_attempt_ms not yet due
};

class Scheduler {
  public:
    explicit Scheduler(const config::Config& config) : config_(&config) {}
    // The new configuration applies to later picks (HUP reload).
    void reload(const config::Config& config) { config_ = &config; }

    // Due = Pending, next_attempt_ms <= now, message not held, recipient
    // not in flight. Oldest message first. Ready takes a worker slot of the
    // destination (concurrency_per_destination) and of the whole relay
    // (max_concurrency) and marks the batch in flight. While every due
    // destination is at its cap the answer is Sleep until the earliest
    // retry: a finishing worker calls release() and the caller asks again.
    // This walk over the whole queue is the reference the indexed form is
    // tested against; it applies the caps without slow start.
    Pick next(const std::vector<spool::Envelope>& live, std::int64_t now_ms);

    // For a worker that already holds a slot of `destination`: the next due
    // message to send over its connection; marks it in flight. Empty
    // rcpts: none.
    Batch next_for(const std::string& destination, const std::vector<spool::Envelope>& live,
                   std::int64_t now_ms);

    // The indexed form of next()/next_for(), for a relay with a large queue:
    // a pick costs O(log n) (plus one step per destination) instead of a
    // walk over every live message. rebuild() loads the index from the whole
    // queue (start-up, periodic rescan, reload); refresh() reloads one
    // message after it changed (commit, the end of its attempt; nullopt:
    // removed). Same rules as next()/next_for(): Pending, due, not held, not
    // in flight, oldest message first, under the caps; and slow start: a
    // destination gets delivery.initial_concurrency_per_destination
    // connections until its due mail has waited kGrowAfterMs for one without
    // the queue for it running empty in between, then up to
    // concurrency_per_destination. Each connection has one message in
    // flight, so a destination that its first connections keep up with
    // never has more in flight than they (GUARANTEE.md: what a crash
    // delivers twice), and a small partner's server is not sent 20
    // connections for a burst that 5 deliver as fast.
    void rebuild(const std::vector<spool::Envelope>& live);
    void refresh(const spool::QueueId& id, const std::optional<spool::Envelope>& env);
    Pick next(std::int64_t now_ms);
    Batch next_for(const std::string& destination, std::int64_t now_ms);

    // A worker of `destination` keeps its connection open, waiting for the
    // next message: next(now) leaves that destination's due mail to it
    // (next_for) rather than starting another connection.
    void set_idle(const std::string& destination, bool idle);
    // Whether the index holds a due batch for `destination` (an idle worker
    // has work).
    bool has_due(const std::string& destination, std::int64_t now_ms);
    // Whether due mail waits only because idle connections hold the total
    // cap (max_concurrency): then one of them should close.
    bool starved(std::int64_t now_ms);

    // The batch's attempt is over (its new state is in the spool).
    void done(const Batch& batch);
    // The worker of `destination` has ended.
    void release(const std::string& destination);

    int active(const std::string& destination) const;
    std::size_t in_flight() const { return in_flight_.size(); }
    // Whether an attempt holds recipients of the message (or this recipient).
    bool in_flight(const spool::QueueId& id) const;
    bool in_flight(const spool::QueueId& id, std::size_t rcpt) const {
        return in_flight_.count({id, rcpt}) > 0;
    }

    static constexpr std::int64_t kGrowAfterMs = 1000;

  private:
    bool due(const spool::Envelope& env, std::size_t i, std::int64_t now_ms) const;
    // The connections `destination` (which has due mail) may have now; starts
    // its wait when it is at the slow-start cap.
    int cap(const std::string& destination, std::int64_t now_ms);
    // Takes `id` out of `dest`'s due set; the one place that empties it,
    // and so the one that ends the destination's slow-start wait.
    void drop_ready(const std::string& dest, const spool::QueueId& id);
    void take(const Batch& b);

    // One recipient as the index knows it.
    struct Rcpt {
        std::string dest;
        std::int64_t next_ms = 0;
        bool pending = false;
    };
    struct Msg {
        std::vector<Rcpt> rcpts;
        // Where the message sits: (time it is due, destination) per
        // destination with Pending recipients not in flight.
        std::vector<std::pair<std::int64_t, std::string>> slots;
    };
    void unindex(const spool::QueueId& id, Msg& m);
    void index(const spool::QueueId& id, Msg& m);
    void promote(std::int64_t now_ms);
    Batch take_due(const spool::QueueId& id, const std::string& dest, std::int64_t now_ms);

    const config::Config* config_;
    std::map<std::string, int> active_;  // destination -> workers
    int total_ = 0;
    std::set<std::pair<spool::QueueId, std::size_t>> in_flight_;

    std::map<spool::QueueId, Msg> msgs_;  // live messages, not held
    // (due time, destination, id) not yet due, and per destination the ids due now.
    std::set<std::tuple<std::int64_t, std::string, spool::QueueId>> waiting_;
    std::map<std::string, std::set<spool::QueueId>> ready_;
    std::map<std::string, int> idle_;  // destination -> workers waiting on an open connection
    // destination -> since when its due mail has waited at the slow-start cap
    std::map<std::string, std::int64_t> backlog_since_;
};

}  // namespace chainmail::schedule
