// Placeholder: `chainmail queue list|show` land with the spool.
#include "relay/cli/cli.hpp"

namespace chainmail::cli {
int cmd_queue_list(const Common&, bool) { return not_yet("chainmail queue list", "the spool work"); }
int cmd_queue_show(const Common&, const std::vector<std::string>&) {
    return not_yet("chainmail queue show", "the spool work");
}
}  // namespace chainmail::cli
