// outbound: the delivery side of `chainmail serve`. start() runs the
// scheduler loop and one worker per destination slot on the given executor
// (one thread; every call but act() is made on it); stop() lets attempts in
// flight finish. It owns the resolver, the client TLS context and the
// connector; the spool and log are borrowed.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>

#include "config/config.hpp"
#include "policy/tlsrpt.hpp"
#include "relay/clock/wall_clock.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/outbound/queue_control.hpp"
#include "relay/resolve/dns_resolver.hpp"
#include "relay/spool/spool.hpp"

namespace chainmail::outbound {

struct OutboundOptions {
    double timeout_scale = 1.0;             // tests shorten the SMTP timeouts
    resolve::ResolverOptions resolver;      // DNS timeouts
    int max_messages_per_connection = 100;  // then the slot goes back to the queue (fairness)
    // Every TLS session to a recipient domain's MX, for TLSRPT (deliver::AttemptSetup).
    std::function<void(const policy::TlsrptSession&)> tls_sessions;
    // The wall clock (unix ms) for the scheduler, the attempts, settlement and
    // the queue control, which read none themselves.
    std::function<std::int64_t()> now_ms = clock::now_ms;
};

class Outbound {
  public:
    // Copies `config`. Throws at start-up on a bad setting (resolver, ca_file).
    Outbound(boost::asio::any_io_executor ex, const config::Config& config, spool::Spool& spool,
             log::DeliveryLog& log, OutboundOptions options = {});
    ~Outbound();  // stop() first; what is still running is abandoned, not finished
    Outbound(const Outbound&) = delete;
    Outbound& operator=(const Outbound&) = delete;

    // Removes finished messages left by a crash, then delivers: at once for
    // every due recipient, on each commit() to the spool, at each retry time.
    void start();
    // No new attempts; `on_stopped` runs once the attempts in flight are
    // settled (each is bounded by the SMTP timeout table). Idempotent.
    void stop(std::function<void()> on_stopped);
    // A new configuration for later attempts (HUP).
    void reload(const config::Config& config);
    // Look at the queue now (e.g. after `queue retry`).
    void wake();
    // An operator's queue command (queue_control.hpp), run on this executor;
    // the one call that may be awaited from another thread's executor.
    boost::asio::awaitable<std::vector<ActionResult>> act(QueueAction action,
                                                          const std::vector<spool::QueueId>& ids,
                                                          bool all);

    std::size_t attempts_in_flight() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chainmail::outbound
