// `chainmail serve`: loads the configuration, opens the spool, starts the
// inbound listeners on one io_context thread, the delivery side on a second
// one, and tells systemd it is ready.
// SIGHUP reloads (a bad file keeps the old one); SIGTERM/SIGINT stop
// accepting, let transactions in flight finish (at most kShutdownGrace), exit 0.
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <pthread.h>
#include <unistd.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "relay/cli/cli.hpp"
#include "relay/cli/watchdog.hpp"
#include "relay/clock/wall_clock.hpp"
#include "relay/control/control_server.hpp"
#include "relay/inbound/smtp_server.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/log/protection_watch.hpp"
#include "relay/metrics/metrics.hpp"
#include "relay/metrics/serve_metrics.hpp"
#include "relay/outbound/outbound.hpp"
#include "relay/resolve/dnssec_selfcheck.hpp"
#include "relay/spool/spool.hpp"
#include "relay/tlsrpt/tlsrpt_reporter.hpp"

namespace chainmail::cli {

namespace {

namespace asio = boost::asio;

// The DNSSEC self-check, in the background: a slow resolver must not hold
// up the listeners. Its result is logged and published for metrics and probe.
asio::awaitable<void> dnssec_selfcheck_task(asio::any_io_executor ex, config::Dns dns) {
    resolve::DnssecSelfCheck result;
    try {
        resolve::DnsResolver resolver(ex, dns);
        result = co_await resolve::dnssec_selfcheck(resolver, dns);
    } catch (const std::exception& e) {
        result.state = resolve::DnssecSelfCheck::State::Failed;
        result.name = dns.dnssec_check_name;
        result.reason = e.what();
        result.checked_at = clock::now();
    }
    resolve::publish(result);
    resolve::log_selfcheck(result);
    using State = resolve::DnssecSelfCheck::State;
    if (result.state == State::Ok || result.state == State::Failed)
        metrics::dnssec_selfcheck(result.ok());
}

void start_dnssec_selfcheck(asio::io_context& io, const config::Dns& dns) {
    asio::co_spawn(io, dnssec_selfcheck_task(io.get_executor(), dns), asio::detached);
}

// The delivery thread runs at the priority of acceptance. It once ran 5 nice
// levels above it, to read a next hop's reply sooner after a crash (the
// duplicate window, relay/schedule/GUARANTEE.md); measured again, that cost
// acceptance with delivery on about a sixth and did not change the duplicates
// measurably, so it is gone (bench/RESULTS-accept.md, eighth round).
void name_delivery_thread() {
    ::pthread_setname_np(::pthread_self(), "cm-deliver");  // `top -H`, /proc/PID/task
}

// Runs an io_context on its own thread until destroyed, then stops and joins it.
class ThreadRunner {
  public:
    ThreadRunner(asio::io_context& io, void (*at_start)())
        : io_(io), thread_([&io, at_start] {
              at_start();
              io.run();
          }) {}
    ~ThreadRunner() {
        io_.stop();
        thread_.join();
    }
    ThreadRunner(const ThreadRunner&) = delete;
    ThreadRunner& operator=(const ThreadRunner&) = delete;

  private:
    asio::io_context& io_;
    std::thread thread_;
};

constexpr auto kShutdownGrace = std::chrono::seconds(30);

void set_log_level(const std::string& level) {
    spdlog::set_level(spdlog::level::from_str(level));
}

// Waits for one signal at a time; re-arms itself until stopping.
// The delivery side (outbound, TLS reports) is used only from out_io's
// thread: calls from here are posted there.
struct SignalLoop {
    asio::io_context& io;
    asio::io_context& out_io;
    asio::signal_set signals;
    asio::steady_timer grace;
    const Common& common;
    inbound::SmtpServer& server;
    log::DeliveryLog& delivery_log;
    outbound::Outbound& outbound;
    tlsrpt::Reporter& reporter;
    int running = 2;  // the inbound server and the outbound side
    bool stopping = false;

    void wait() {
        signals.async_wait([this](boost::system::error_code ec, int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                reload();
                wait();
                return;
            }
            stop(sig);
        });
    }

    void reload() {
        sd_notify(0, "RELOADING=1");
        spdlog::info("SIGHUP: reloading the configuration");
        auto result = load_result(common);
        if (auto* cfg = std::get_if<config::Config>(&result)) {
            try {
                server.reload(inbound::make_server_state(*cfg));
                asio::post(out_io, [this, c = *cfg] {
                    outbound.reload(c);
                    reporter.reload(c);
                });
                set_log_level(cfg->log.level);
                spdlog::info("configuration reloaded from {}", cfg->source);
                start_dnssec_selfcheck(io, cfg->dns);
            } catch (const std::exception& e) {
                spdlog::error("reload refused, the old configuration stays: {}", e.what());
            }
        } else {
            for (const auto& e : std::get<std::vector<config::ConfigError>>(result))
                spdlog::error("{}", e.str());
            spdlog::error("reload refused: the new configuration has errors; the old one stays");
        }
        delivery_log.reopen();  // also serves log rotation
        sd_notify(0, "READY=1");
    }

    void stop(int sig) {
        if (stopping) return;
        stopping = true;
        sd_notify(0, "STOPPING=1");
        spdlog::info("signal {}: no new connections; finishing {} session(s)", sig,
                     server.session_count());
        server.stop([this] {
            spdlog::info("all sessions finished");
            if (--running == 0) io.stop();
        });
        asio::post(out_io, [this] {
            reporter.stop();
            outbound.stop([this] {
                asio::post(io, [this] {
                    spdlog::info("all delivery attempts finished");
                    if (--running == 0) io.stop();
                });
            });
        });
        grace.expires_after(kShutdownGrace);
        grace.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            spdlog::warn("shutdown: {} session(s) still open after {}s, closing them",
                         server.session_count(), kShutdownGrace.count());
            io.stop();
        });
        // A second signal while waiting ends at once.
        signals.async_wait([this](boost::system::error_code ec, int) {
            if (!ec) io.stop();
        });
    }
};

}  // namespace

int cmd_serve(const Common& common) {
    auto cfg = load(common);
    if (!cfg) return 1;
    set_log_level(cfg->log.level);

    std::unique_ptr<spool::Spool> spool;
    std::unique_ptr<log::DeliveryLog> delivery_log;
    std::shared_ptr<const inbound::ServerState> state;
    try {
        spool = spool::open_spool(cfg->spool);
        delivery_log = cfg->log.delivery_log.empty()
                           ? std::make_unique<log::DeliveryLog>()
                           : std::make_unique<log::DeliveryLog>(cfg->log.delivery_log);
        state = inbound::make_server_state(*cfg);
    } catch (const std::exception& e) {
        fmt::print(stderr, "chainmail serve: {}\n", e.what());
        return 1;
    }

    // The report's regression rule, live: each delivery-log event as written;
    // a partner whose protection got weaker is counted and named in the journal.
    auto watch = std::make_shared<log::ProtectionWatch>();
    delivery_log->set_observer([watch](const log::DeliveryEvent& e) {
        if (auto flag = watch->observe(e)) {
            const std::string now(policy::to_string(flag->regression.now));
            metrics::protection_regression(flag->partner, now);
            spdlog::warn("partner {}: protection to {} got weaker: was {}, now {}",
                         flag->partner.empty() ? "defaults" : flag->partner, flag->domain,
                         policy::describe(flag->regression.was),
                         policy::describe(flag->regression.now));
        }
    });

    // Declared after the spool and the log: sessions still pending when the
    // io_context is destroyed refer to both.
    asio::io_context io(1);
    // The delivery side's own thread: its work (connections, TLS, settling,
    // reports) never delays a reply to an SMTP client, whose 250 waits only
    // for the spool. Declared before the objects that use it.
    asio::io_context out_io(1);
    auto out_work = asio::make_work_guard(out_io);
    inbound::SmtpServer server(io, *spool, *delivery_log, state);
    std::unique_ptr<tlsrpt::Reporter> reporter;
    std::unique_ptr<outbound::Outbound> outbound;
    try {
        // RFC 8460 reports: counted by delivery, sent once a (UTC) day. For
        // tests only, CHAINMAIL_TLSRPT_PERIOD=SECONDS makes the "day" shorter.
        tlsrpt::ReporterOptions ro;
        if (const char* p = std::getenv("CHAINMAIL_TLSRPT_PERIOD"); p && std::atoll(p) > 0)
            ro.period_s = std::atoll(p);
        reporter = std::make_unique<tlsrpt::Reporter>(out_io.get_executor(), *cfg, *spool, ro);
        outbound::OutboundOptions oo;
        oo.tls_sessions = [r = reporter.get()](const policy::TlsrptSession& s) { r->record(s); };
        outbound = std::make_unique<outbound::Outbound>(out_io.get_executor(), *cfg, *spool,
                                                        *delivery_log, std::move(oo));
    } catch (const std::exception& e) {
        fmt::print(stderr, "chainmail serve: {}\n", e.what());
        return 1;
    }

    // `chainmail queue` commands; before SMTP listens, so a serve that cannot
    // be controlled never takes mail (a stale socket from a crash is replaced).
    control::ControlServer control_server(io.get_executor(), cfg->control_socket, *outbound);
    try {
        control_server.start();
    } catch (const std::exception& e) {
        fmt::print(stderr, "chainmail serve: {}\n", e.what());
        return 1;
    }

    // Signals are caught before the first socket listens: a SIGHUP or SIGTERM
    // sent as soon as the port answers must never kill the process outright.
    // Pings go on through the drain: io.stop() ends them with the loop.
    Watchdog watchdog(io.get_executor());
    SignalLoop signals{io,
                       out_io,
                       asio::signal_set(io, SIGTERM, SIGINT, SIGHUP),
                       asio::steady_timer(io),
                       common,
                       server,
                       *delivery_log,
                       *outbound,
                       *reporter};
    std::unique_ptr<metrics::ServeMetrics> serve_metrics;
    try {
        server.start();
        serve_metrics = std::make_unique<metrics::ServeMetrics>(io.get_executor(), *spool, *cfg,
                                                                CHAINMAIL_VERSION);
    } catch (const std::exception& e) {
        fmt::print(stderr, "chainmail serve: {}\n", e.what());
        return 1;
    }
    if (!serve_metrics->endpoint().empty())
        spdlog::info("metrics: Prometheus text at http://{}/metrics", serve_metrics->endpoint());
    // After the listeners: delivery starts once mail can come in.
    if (common.no_delivery)
        spdlog::warn("--no-delivery: mail is accepted and queued, nothing is delivered");
    else
        outbound->start();
    reporter->start();
    signals.wait();
    std::signal(SIGPIPE, SIG_IGN);
    // Stopped and joined before anything it uses is destroyed; what is still
    // pending there at the end is abandoned, as on the inbound side.
    ThreadRunner out_thread(out_io, name_delivery_thread);

    spdlog::info(
        "chainmail serve: listening on {}; spool {}; control socket {}; hostname {}; "
        "config {}{}",
        fmt::join(server.endpoints(), ", "), cfg->spool, control_server.path(), cfg->hostname,
        cfg->source, state->tls ? "; STARTTLS offered" : "");
    sd_notify(0, "READY=1");
    start_dnssec_selfcheck(io, cfg->dns);
    watchdog.start();
    io.run();
    spdlog::info("chainmail serve: stopped");
    return 0;
}

}  // namespace chainmail::cli
