// Placeholder: `chainmail serve` wiring lands with the inbound server.
#include "relay/cli/cli.hpp"

namespace chainmail::cli {
int cmd_serve(const Common&) { return not_yet("chainmail serve", "the core relay work"); }
}  // namespace chainmail::cli
