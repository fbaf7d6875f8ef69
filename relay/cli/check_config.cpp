// check-config: loads the configuration as `serve` would; prints every error
// (FILE:LINE:COL: message) and exits 1, or "FILE: ok" with a summary, exit 0.
#include <fmt/core.h>

#include "relay/cli/cli.hpp"

namespace chainmail::cli {

int cmd_check_config(const Common& common) {
    auto config = load(common);
    if (!config) return 1;
    fmt::print("{}: ok\n", config->source);
    fmt::print("{} listener{}, {} partner{}, hostname {}, spool {}\n", config->listen.size(),
               config->listen.size() == 1 ? "" : "s", config->partners.size(),
               config->partners.size() == 1 ? "" : "s", config->hostname, config->spool);
    return 0;
}

}  // namespace chainmail::cli
