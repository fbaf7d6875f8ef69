// queue_control: what an operator does to queued mail (queue retry, hold,
// release, delete, bounce). Hold, delete and bounce first stop the message's
// attempts in flight at their next check point (before MAIL FROM, before the
// final dot), wait for them to settle, then write their spool record
// (durable), then the log lines. Runs on the outbound executor only.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "relay/bounce/ndr_template.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/spool/spool.hpp"

namespace chainmail::outbound {

enum class QueueAction { Retry, Hold, Release, Delete, Bounce };
std::string_view to_string(QueueAction a);
std::optional<QueueAction> parse_queue_action(std::string_view s);

enum class ActionStatus {
    Done,       // the change is durable in the spool
    Unchanged,  // nothing to do (already held, not held, being delivered)
    NotFound,   // no such message in the queue (or it finished meanwhile)
    Failed,     // the spool refused the change (disk full, I/O error)
};
std::string_view to_string(ActionStatus s);

struct ActionResult {
    spool::QueueId id;
    ActionStatus status = ActionStatus::Done;
    std::string text;  // what happened, in words for the operator
};

// What the outbound side lends to the queue control.
struct ControlHooks {
    spool::Spool& spool;
    log::DeliveryLog& log;
    std::function<std::shared_ptr<const config::Config>()> config;
    const bounce::NdrTemplates& templates;
    std::function<bool(const spool::QueueId&)> in_flight;  // an attempt holds recipients of it
    std::function<bool(const spool::QueueId&, std::size_t)> rcpt_in_flight;
    std::function<void(const spool::QueueId&)> reindex;  // re-read it into the scheduler
    std::function<void()> wake;                          // look at the queue now
    std::function<bool()> delivering;                    // false under serve --no-delivery
    std::function<void()> forget_host_failures;          // retry: no host is skipped as dead
    std::function<std::int64_t()> now_ms;                // the wall clock (unix ms)
};

class QueueControl {
  public:
    QueueControl(boost::asio::any_io_executor ex, ControlHooks hooks);

    // One result per id, in order. `all` (retry only): every message with
    // recipients waiting for a later retry; `ids` is then ignored.
    boost::asio::awaitable<std::vector<ActionResult>> act(QueueAction action,
                                                          const std::vector<spool::QueueId>& ids,
                                                          bool all);

    // An operator action is stopping the message: no attempt may start on
    // it, nor send MAIL FROM or the final dot (checked at the last moment).
    bool stopping(const spool::QueueId& id) const { return stopping_.count(id) > 0; }

  private:
    boost::asio::awaitable<ActionResult> retry(const spool::QueueId& id);
    boost::asio::awaitable<ActionResult> hold(const spool::QueueId& id);
    boost::asio::awaitable<ActionResult> release(const spool::QueueId& id);
    boost::asio::awaitable<ActionResult> remove(const spool::QueueId& id);
    boost::asio::awaitable<ActionResult> bounce(const spool::QueueId& id);
    // Marks the message stopping and waits until no attempt holds it.
    boost::asio::awaitable<bool> stop_attempts(const spool::QueueId& id);
    void done_stopping(const spool::QueueId& id);
    // Pending recipients not in flight become due now (retry, release).
    boost::asio::awaitable<std::error_code> make_due(const spool::Envelope& env, int& changed);
    void log_line(log::Event event, const spool::Envelope& env, std::size_t i, std::string_view dsn,
                  std::string_view reply, const std::string& ndr_id);

    boost::asio::any_io_executor ex_;
    ControlHooks hooks_;
    std::map<spool::QueueId, int> stopping_;  // id -> actions stopping it
};

}  // namespace chainmail::outbound
