// Placeholder: `chainmail policy` lands with partner matching.
#include "relay/cli/cli.hpp"

namespace chainmail::cli {
int cmd_policy(const Common&, const std::vector<std::string>&) {
    return not_yet("chainmail policy", "the outbound delivery work");
}
}  // namespace chainmail::cli
