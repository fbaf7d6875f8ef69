// delivery_attempt: one destination's delivery session: resolve, then per
// candidate host the policy requirement, connect, judge() BEFORE any byte of
// a message, transaction; each failure goes to the failure table
// (policy::next_step) and its verdict is carried out here (next host,
// reroute) or handed on per recipient; the connection is kept for the
// destination's next message. Settlement persists.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "policy/failure_table.hpp"
#include "policy/tls_level.hpp"
#include "policy/tlsrpt.hpp"
#include "relay/connect/connector.hpp"
#include "relay/deliver/smtp_client.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/mtasts/sts_source.hpp"
#include "relay/spool/envelope.hpp"

namespace chainmail::deliver {

// What happened to one recipient in this attempt: all the delivery log needs.
// The outcome and its status are the failure table's (policy/failure_table.hpp).
struct RcptResult {
    std::size_t index = 0;  // into Envelope::recipients
    policy::RcptOutcome outcome = policy::RcptOutcome::Deferred;
    policy::Reason reason = policy::Reason::None;  // None: the peer's reply tells
    std::string dsn;                               // RFC 3463 "2.0.0", "5.7.10", "5.4.7", ...
    std::string reply;                             // the next hop's reply, or our reason in words
    std::string host;                              // empty when no host was reached
    std::string ip;
    std::uint16_t port = 0;
    std::optional<log::TlsInfo> tls;  // absent for plaintext
    std::string would_fail;           // mode: testing: what the level would have refused
    bool relayed = false;             // delivered to a hop without DSN (RFC 3461 "relayed")
};

struct AttemptResult {
    std::vector<RcptResult> rcpts;                   // one per recipient asked for, same order
    std::string partner;                             // the partner's name ("defaults" for none)
    policy::TlsLevel level = policy::TlsLevel::May;  // the level required (after raising)
    bool rerouted = false;                           // delivered via fallback_next_hop
    std::string sensitive;        // why the message counts as sensitive; empty: it does not
    std::string tls_required_no;  // "TLS-Required: No" present: "honoured" or "ignored"
};

struct AttemptSetup {
    const config::Config* config = nullptr;
    tls::ClientTls* tls = nullptr;
    connect::Connector* connector = nullptr;
    mtasts::StsSource* sts = nullptr;  // nullptr: MTA-STS policies are never looked up
    double timeout_scale = 1.0;        // tests shorten the protocol timeouts
    // Told of every TLS session to a recipient domain's MX (RFC 8460 TLSRPT);
    // never of sessions carrying our own report mail. Empty: nobody counts.
    std::function<void(const policy::TlsrptSession&)> tls_sessions;
    // The wall clock (unix ms), for the message's age in the failure table.
    std::function<std::int64_t()> now_ms;
};

// One per destination worker; runs on one thread (the scheduler's executor).
class DeliveryAttempt {
  public:
    explicit DeliveryAttempt(AttemptSetup setup);
    ~DeliveryAttempt();
    DeliveryAttempt(const DeliveryAttempt&) = delete;
    DeliveryAttempt& operator=(const DeliveryAttempt&) = delete;

    // Delivers `data` (the spooled message) to env.recipients[rcpts...],
    // all of one destination. Reuses the open connection when it is still
    // usable and was opened under the same requirement. `go_ahead` (if set)
    // is asked before each host, before MAIL FROM and right before the final
    // dot: false stops the attempt there and its recipients are Cancelled.
    boost::asio::awaitable<AttemptResult> deliver(const spool::Envelope& env,
                                                  const std::vector<std::size_t>& rcpts,
                                                  std::string_view data,
                                                  const std::function<bool()>& go_ahead = {});
    // QUIT and close the kept connection, if any.
    boost::asio::awaitable<void> close();
    bool connected() const;

  private:
    struct Kept;
    struct Run;
    boost::asio::awaitable<bool> try_hosts(Run& run, const config::Partner& partner,
                                           const connect::Target& target,
                                           const policy::MtaStsFacts& sts);
    boost::asio::awaitable<bool> transact(Run& run, Connection& conn, const policy::Outcome& o,
                                          std::uint16_t port);

    AttemptSetup setup_;
    std::unique_ptr<Kept> kept_;
};

}  // namespace chainmail::deliver
