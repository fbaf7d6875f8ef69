// Placeholders for subcommands whose stages are being built.
#include "relay/cli/cli.hpp"

namespace chainmail::cli {

int cmd_serve(const Common&) { return not_yet("chainmail serve", "the core relay work"); }
int cmd_check_config(const Common& common) { return load(common) ? 0 : 1; }
int cmd_policy(const Common&, const std::vector<std::string>&) {
    return not_yet("chainmail policy", "the outbound delivery work");
}
int cmd_queue_list(const Common&, bool) { return not_yet("chainmail queue list", "the spool work"); }
int cmd_queue_show(const Common&, const std::vector<std::string>&) {
    return not_yet("chainmail queue show", "the spool work");
}

}  // namespace chainmail::cli
