#include "relay/cli/cli.hpp"

namespace chainmail::cli {
int cmd_check_config(const Common& common) { return load(common) ? 0 : 1; }
}  // namespace chainmail::cli
