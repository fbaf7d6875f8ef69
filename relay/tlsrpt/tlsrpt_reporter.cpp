#include "relay/tlsrpt/tlsrpt_reporter.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/clock/wall_clock.hpp"
#include "relay/mtasts/sts_fetch.hpp"
#include "relay/resolve/dns_resolver.hpp"
#include "relay/tlsrpt/tlsrpt_json.hpp"
#include "relay/tlsrpt/tlsrpt_mail.hpp"
#include "relay/tlsrpt/tlsrpt_store.hpp"

namespace chainmail::tlsrpt {

namespace asio = boost::asio;

struct Reporter::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor e, const config::Config& c, spool::Spool& s, ReporterOptions o)
        : ex(e),
          cfg(std::make_shared<const config::Config>(c)),
          spool(s),
          opts(o),
          resolver(e, c.dns),
          https(c.tls.ca_file),
          file(c.spool + "/tlsrpt"),
          timer(e) {}

    asio::any_io_executor ex;
    std::shared_ptr<const config::Config> cfg;
    spool::Spool& spool;
    ReporterOptions opts;
    resolve::DnsResolver resolver;
    mtasts::StsFetcher https;
    CountsFile file;
    asio::steady_timer timer;
    std::vector<policy::TlsrptPeriod> periods;  // oldest first; the last may be running
    bool loaded = false;
    bool dirty = false;
    bool stopped = false;

    void load() {
        if (loaded) return;
        loaded = true;
        std::string problem;
        auto saved = file.load(problem);
        if (!problem.empty()) spdlog::error("tlsrpt: {}", problem);
        // Sessions counted before the load (none in practice) are kept too.
        for (auto& p : periods) saved.push_back(std::move(p));
        periods = std::move(saved);
    }

    void record(const policy::TlsrptSession& s) {
        if (!cfg->tlsrpt.enabled) return;
        load();
        const auto [start, end] = policy::tlsrpt_period_of(clock::now_ms() / 1000, opts.period_s);
        auto it = std::find_if(periods.begin(), periods.end(),
                               [start = start](const auto& p) { return p.start_s == start; });
        if (it == periods.end()) {
            policy::TlsrptPeriod p;
            p.start_s = start;
            p.end_s = end;
            periods.push_back(std::move(p));
            it = periods.end() - 1;
        }
        it->add(s);
        dirty = true;
    }

    void save() {
        if (!dirty) return;
        if (auto ec = file.save(periods)) {
            spdlog::error("tlsrpt: cannot save the counts to {}: {}", file.path(), ec.message());
            return;
        }
        dirty = false;
    }

    asio::awaitable<void> send_mail(const policy::TlsrptPeriod& period, const std::string& domain,
                                    const std::string& gz, const std::string& rua,
                                    const std::string& to) {
        const config::Config& c = *cfg;
        ReportMail m;
        m.from = c.tlsrpt.contact;
        m.from_name = c.tlsrpt.organization;
        m.to = to;
        m.domain = domain;
        m.submitter = c.hostname;
        m.report_id = report_id(period, domain, c.hostname);
        m.start_s = period.start_s;
        m.end_s = period.end_s;
        m.now_ms = clock::now_ms();
        m.gzipped = gz;
        spool::Envelope env;
        std::string bytes = build_report_mail(m, env.message_id);
        env.sender = c.tlsrpt.contact;
        spool::Recipient r;
        r.address = to;
        env.recipients.push_back(r);
        env.body = spool::BodyType::SevenBit;
        env.client_helo = c.hostname;
        env.arrival_ms = m.now_ms;
        if (auto ec = co_await spool.commit(env, std::move(bytes))) {
            spdlog::error("tlsrpt: report for {} to {} not queued: {}", domain, rua, ec.message());
            co_return;
        }
        spdlog::info("tlsrpt: report {} for {} queued to {} as {}", m.report_id, domain, rua,
                     env.id);
    }

    asio::awaitable<void> post(const std::string& domain, const std::string& id,
                               const std::string& gz, const std::string& rua) {
        auto uri = policy::parse_https_uri(rua);
        if (!uri) {
            spdlog::warn("tlsrpt: report for {}: rua {} is not an https address we can use", domain,
                         rua);
            co_return;
        }
        resolve::AddrAnswer addrs = co_await resolver.addresses(uri->host);
        // RFC 8460 §5.4: POST with the gzipped report as application/tlsrpt+gzip.
        std::string method = "POST", type = "application/tlsrpt+gzip", body = gz;
        const auto timeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg->mta_sts.fetch_timeout);
        mtasts::HttpsResult res = co_await https.request(uri->host, addrs.addresses, uri->port,
                                                         timeout, method, uri->target, body, type);
        if (res.status >= 200 && res.status < 300)
            spdlog::info("tlsrpt: report {} for {} posted to {} (HTTP {})", id, domain, rua,
                         res.status);
        else
            spdlog::warn("tlsrpt: report {} for {} not accepted by {}: {}", id, domain, rua,
                         res.status ? "HTTP " + std::to_string(res.status) : res.error);
    }

    asio::awaitable<void> report(const policy::TlsrptPeriod& period) {
        const config::Config& c = *cfg;
        const ReportMeta meta{c.tlsrpt.organization, c.tlsrpt.contact, c.hostname};
        for (const std::string& domain : period.domains()) {
            // RFC 8460 §3: the policy domain's TXT record at _smtp._tls says where to.
            std::string name = "_smtp._tls." + domain;
            resolve::TxtAnswer txt = co_await resolver.txt(name);
            if (txt.status.state == policy::DnsState::TempFail ||
                txt.status.state == policy::DnsState::Bogus) {
                spdlog::warn("tlsrpt: no report for {}: the lookup of {} failed ({})", domain, name,
                             txt.status.reason);
                continue;
            }
            const policy::TlsrptRecord rec = policy::parse_tlsrpt_record(txt.records);
            if (rec.rua.empty()) {
                spdlog::debug("tlsrpt: no report for {}: {}", domain, rec.error);
                continue;
            }
            const std::string json = report_json(period, domain, meta).dump();
            const std::string gz = gzip(json);
            const std::string id = report_id(period, domain, c.hostname);
            for (const std::string& rua : rec.rua) {
                if (auto to = policy::tlsrpt_mailto(rua))
                    co_await send_mail(period, domain, gz, rua, *to);
                else if (rua.size() > 8 && (rua[0] == 'h' || rua[0] == 'H'))
                    co_await post(domain, id, gz, rua);
                else
                    spdlog::warn("tlsrpt: report for {}: cannot send to {}", domain, rua);
            }
        }
    }

    asio::awaitable<void> run() {
        auto self = shared_from_this();
        load();
        while (!stopped) {
            timer.expires_after(opts.tick);
            boost::system::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (stopped) break;
            save();
            if (!cfg->tlsrpt.enabled) continue;
            const std::int64_t now_s = clock::now_ms() / 1000;
            std::vector<policy::TlsrptPeriod> due;
            for (const auto& p : periods)
                if (p.end_s <= now_s) due.push_back(p);
            for (const auto& p : due) {
                try {
                    co_await report(p);
                } catch (const std::exception& e) {  // a broken invariant: say so, go on
                    spdlog::error("tlsrpt: the report of {} failed: {}", utc_datetime(p.start_s),
                                  e.what());
                }
                std::erase_if(periods, [&p](const auto& q) { return q.start_s == p.start_s; });
                dirty = true;
                save();
            }
        }
        save();
    }
};

Reporter::Reporter(asio::any_io_executor ex, const config::Config& config, spool::Spool& spool,
                   ReporterOptions options)
    : impl_(std::make_shared<Impl>(ex, config, spool, options)) {}

Reporter::~Reporter() {
    impl_->stopped = true;
    impl_->save();
}

void Reporter::record(const policy::TlsrptSession& session) {
    impl_->record(session);
}

void Reporter::start() {
    asio::co_spawn(impl_->ex, impl_->run(), asio::detached);
}

void Reporter::stop() {
    impl_->stopped = true;
    impl_->timer.cancel();
}

void Reporter::reload(const config::Config& config) {
    impl_->cfg = std::make_shared<const config::Config>(config);
}

}  // namespace chainmail::tlsrpt
