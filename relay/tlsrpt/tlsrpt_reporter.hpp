// tlsrpt_reporter: counts the TLS sessions of delivery per recipient domain and
// policy (RFC 8460), keeps the counts in SPOOL/tlsrpt, and after each UTC day
// sends every domain with a `_smtp._tls` record its report: as mail through our
// own queue (mailto:) or by HTTPS POST (https:). Does nothing unless enabled.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "policy/tlsrpt.hpp"
#include "relay/spool/spool.hpp"

namespace chainmail::tlsrpt {

struct ReporterOptions {
    std::int64_t period_s = 86400;                             // one UTC day; tests shorten it
    std::chrono::milliseconds tick = std::chrono::seconds(1);  // counts saved, periods checked
};

// Use from the thread that runs `ex` only (like the delivery it counts).
class Reporter {
  public:
    // Throws at start-up on a bad setting (resolver, ca_file).
    Reporter(boost::asio::any_io_executor ex, const config::Config& config, spool::Spool& spool,
             ReporterOptions options = {});
    ~Reporter();  // saves counts not yet saved
    Reporter(const Reporter&) = delete;
    Reporter& operator=(const Reporter&) = delete;

    // One session (deliver::AttemptSetup::tls_sessions); ignored while disabled.
    void record(const policy::TlsrptSession& session);
    // Loads the saved counts, then saves and reports on each tick.
    void start();
    void stop();
    // tlsrpt.enabled, organization and contact for later reports.
    void reload(const config::Config& config);

    struct Impl;

  private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace chainmail::tlsrpt
