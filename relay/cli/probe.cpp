// probe: `chainmail probe DOMAIN|ADDRESS...` and `--partners`: sets up the
// delivery machinery (resolver, connector, TLS client without session
// resumption, MTA-STS without the serve's cache), probes the targets a few at
// a time, and prints text, JSON lines or the partner map.
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <fmt/core.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "relay/cli/cli.hpp"
#include "relay/cli/probe.hpp"
#include "relay/cli/probe_partners.hpp"
#include "relay/tls/client_tls.hpp"

namespace chainmail::cli {

namespace asio = boost::asio;

namespace {

struct Run {
    ProbeSetup setup;
    const std::vector<std::string>* targets = nullptr;
    std::vector<TargetProbe> results;
    std::size_t next = 0, done = 0;
    bool progress = false;
    resolve::DnssecSelfCheck self;
};

asio::awaitable<void> worker(Run* run) {
    while (run->next < run->targets->size()) {
        const std::size_t i = run->next++;
        const std::string target = (*run->targets)[i];
        run->results[i] = co_await probe_target(run->setup, target);
        ++run->done;
        if (run->progress)
            fmt::print(stderr, "probe: {}/{} {} ({:.1f} s)\n", run->done, run->targets->size(),
                       target, run->results[i].seconds);
    }
}

asio::awaitable<void> selfcheck(Run* run, resolve::DnsResolver* resolver, config::Dns dns) {
    run->self = co_await resolve::dnssec_selfcheck(*resolver, dns);
}

// A fresh MTA-STS cache per run: the probe fetches live and never touches
// (or needs write access to) the serve's cache under the spool.
struct TempDir {
    std::string path;
    TempDir() {
        std::string t =
            (std::filesystem::temp_directory_path() / "chainmail-probe-XXXXXX").string();
        if (::mkdtemp(t.data())) path = t;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
};

}  // namespace

int cmd_probe(const Common& common, const ProbeOptions& o) {
    auto cfg = load(common);
    if (!cfg) return 1;
    std::vector<std::string> targets = o.targets;
    std::vector<PartnerTargets> partners;
    if (o.partners) {
        partners = partner_targets(*cfg);
        for (const auto& p : partners)
            for (const auto& d : p.probed) targets.push_back(d);
        if (targets.empty()) {
            fmt::print(stderr,
                       "chainmail probe --partners: the configuration has no partner "
                       "domains to probe\n");
            return 1;
        }
    }
    if (targets.empty()) {
        fmt::print(stderr, "chainmail probe: name a domain or address, or --partners\n");
        return 2;
    }
    asio::io_context io;
    TempDir sts_dir;
    try {
        resolve::DnsResolver resolver(io.get_executor(), cfg->dns);
        tls::ClientTls tls(cfg->tls.ca_file, 0);  // no resumption: every probe a full handshake
        connect::Connector connector(resolver);
        mtasts::StsSource sts(
            io.get_executor(), resolver,
            {cfg->tls.ca_file, sts_dir.path, cfg->mta_sts.port,
             std::chrono::duration_cast<std::chrono::milliseconds>(cfg->mta_sts.fetch_timeout)});
        Run run;
        std::map<std::string, ProbeSession> seen;
        run.setup = {&*cfg,
                     &seen,
                     &connector,
                     &tls,
                     sts_dir.path.empty() ? nullptr : &sts,
                     o.port ? std::optional<std::uint16_t>(o.port) : std::nullopt};
        run.targets = &targets;
        run.results.resize(targets.size());
        run.progress = o.partners || targets.size() > 1;
        asio::co_spawn(io, selfcheck(&run, &resolver, cfg->dns), asio::detached);
        const std::size_t workers = std::min<std::size_t>(targets.size(), o.concurrency);
        for (std::size_t i = 0; i < workers; ++i) asio::co_spawn(io, worker(&run), asio::detached);
        io.run();
        if (run.done != targets.size()) {
            fmt::print(stderr, "chainmail probe: {} of {} targets were not probed\n",
                       targets.size() - run.done, targets.size());
            return 1;
        }
        if (o.partners) {
            const PartnerMap map = partner_map(*cfg, partners, run.results);
            if (!o.html.empty()) {
                std::ofstream f(o.html, std::ios::binary | std::ios::trunc);
                f << partners_html(map, run.self);
                if (!f) {
                    fmt::print(stderr, "chainmail probe: cannot write {}\n", o.html);
                    return 1;
                }
            }
            if (o.json) {
                for (const TargetProbe& p : run.results) fmt::print("{}", probe_json(p, run.self));
            } else {
                fmt::print("{}", partners_text(map, run.self));
            }
            return 0;
        }
        if (!o.json) fmt::print("DNSSEC: {}\n\n", selfcheck_text(run.self));
        bool first = true;
        for (const TargetProbe& p : run.results) {
            if (o.json) {
                fmt::print("{}", probe_json(p, run.self));
                continue;
            }
            if (!first) fmt::print("\n");
            first = false;
            fmt::print("{}", probe_text(p));
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "chainmail probe: {}\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace chainmail::cli
