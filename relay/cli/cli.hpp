// cli: the `chainmail` command. One file per subcommand; each returns the
// process exit status (0 ok, 1 the command's own failure such as a bad
// config, 2 usage).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "relay/log/log_filter.hpp"

namespace chainmail::cli {

struct Common {
    std::string config_path;      // from -c, CHAINMAIL_CONFIG or the default
    bool default_config = false;  // --default-config: the embedded configuration
    bool no_file_checks = false;  // check-config --no-file-checks: for a file meant elsewhere
    bool no_delivery = false;     // serve --no-delivery: accept and queue, deliver nothing
    bool online = false;          // check-config --online: also the DNSSEC self-check
};

// Loads the configuration named by `common`; prints every error as
// FILE:LINE:COL: message to stderr and returns nullopt on failure.
std::optional<config::Config> load(const Common& common);
// The same, returning the errors instead of printing them (serve's reload logs them).
config::LoadResult load_result(const Common& common);

int run(int argc, char** argv);

// The operator's log on stderr (the journal under systemd), never on stdout.
void setup_operator_log();

int cmd_serve(const Common& common);
int cmd_check_config(const Common& common);
int cmd_config(const Common& common);
// Connects to the first listener: 220 greeting, NOOP → 250. 0 alive, 1 not.
int cmd_health(const Common& common, int timeout_seconds);
// The effective configuration as YAML, every default filled in; keys without a
// value are comments. load_config_text() of the result gives the same Config.
std::string print_config(const config::Config& config);
int cmd_policy(const Common& common, const std::vector<std::string>& domains);
int cmd_queue_list(const Common& common, bool json);
int cmd_queue_show(const Common& common, const std::vector<std::string>& ids);
// queue show --message: the stored bytes; one id raw, several framed (see --help).
int cmd_queue_show_message(const Common& common, const std::vector<std::string>& ids);
// queue retry|hold|release|delete|bounce: through the running serve's control
// socket; 1 when serve is not running or an id was not acted on.
int cmd_queue_act(const Common& common, const std::string& action,
                  const std::vector<std::string>& ids, bool all);

struct LogOptions {
    log::LogFilter filter;
    std::string since, until;  // as given: durations or times (log_time.hpp)
    bool json = false;
    bool follow = false;
    std::vector<std::string> files;  // empty: log.delivery_log and its rotated files
};
int cmd_log(const Common& common, const LogOptions& o);

struct ReportOptions {
    std::string since = "30d";
    std::string until;
    std::string partner;
    bool json = false;
    std::string html;                // also write the HTML page here
    std::vector<std::string> files;  // empty: log.delivery_log and its rotated files
};
int cmd_report(const Common& common, const ReportOptions& o);

struct ProbeOptions {
    std::vector<std::string> targets;  // domains or addresses
    std::uint16_t port = 0;            // --port: instead of delivery.port (0: as configured)
    bool json = false;                 // one JSON object per target, one per line
    bool partners = false;             // every partner domain of the configuration
    std::string html;                  // --partners: also write the map as one HTML page
    std::size_t concurrency = 4;       // targets probed at once
};
// Live check, nothing sent (EHLO, STARTTLS, QUIT): 0 probed, 1 bad config or
// set-up, 2 usage.
int cmd_probe(const Common& common, const ProbeOptions& o);

}  // namespace chainmail::cli
