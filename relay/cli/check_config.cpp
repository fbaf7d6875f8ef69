// check-config: loads the configuration as `serve` would; prints every error
// (FILE:LINE:COL: message) and exits 1, or "FILE: ok" with a summary, exit 0;
// --online adds the DNSSEC self-check through the configured resolver.
#include <fmt/core.h>

#include "relay/cli/cli.hpp"
#include "relay/resolve/dnssec_selfcheck.hpp"

namespace chainmail::cli {

int cmd_check_config(const Common& common) {
    auto config = load(common);
    if (!config) return 1;
    fmt::print("{}: ok\n", config->source);
    fmt::print("{} listener{}, {} partner{}, hostname {}, spool {}\n", config->listen.size(),
               config->listen.size() == 1 ? "" : "s", config->partners.size(),
               config->partners.size() == 1 ? "" : "s", config->hostname, config->spool);
    if (!common.online) return 0;
    const auto check = resolve::dnssec_selfcheck_blocking(config->dns);
    switch (check.state) {
        case resolve::DnssecSelfCheck::State::Ok:
            fmt::print("DNSSEC: ok: the DNSKEY records of {} validated through {}\n", check.name,
                       check.resolver);
            return 0;
        case resolve::DnssecSelfCheck::State::Disabled:
            fmt::print("DNSSEC: off: {}\n", check.reason);
            return 0;
        case resolve::DnssecSelfCheck::State::NotRun:
        case resolve::DnssecSelfCheck::State::Failed:
            fmt::print(stderr, "DNSSEC: failed: {}\n", check.reason);
            return 1;
    }
    return 1;
}

}  // namespace chainmail::cli
