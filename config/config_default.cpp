// config_default: the configuration used by --default-config, so that a first
// run works with no file at all: loopback only, spool under the working
// directory, no certificate (hence no STARTTLS offered inbound).
#include <unistd.h>

#include <climits>

#include "config/config.hpp"

namespace chainmail::config {

const std::string& embedded_default_yaml() {
    // No hostname: the loader takes the machine's name.
    static const std::string text = R"(# chainmail embedded default configuration
listen:
  - address: "127.0.0.1:2525"
relay_from:
  networks: ["127.0.0.0/8", "::1/128"]
  authenticated: false
spool: ./spool
control_socket: ./spool/control
log:
  level: info
  delivery_log: ./spool/delivery.jsonl
defaults:
  tls: dane
  mta_sts: true
  on_tls_failure: defer
)";
    return text;
}

std::string machine_hostname() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf;
}

}  // namespace chainmail::config
