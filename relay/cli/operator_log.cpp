// operator_log: the operator's log (spdlog's default logger) goes to stderr,
// so that under systemd it lands in the journal and stdout stays free for a
// command's own output (`queue list --json`, `config`).
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "relay/cli/cli.hpp"

namespace chainmail::cli {

namespace {

// sd-daemon(3) "<N>" prefixes: journald reads the priority from them on a
// stream (SyslogLevelPrefix=yes), so `journalctl -p warning` works.
class JournalPriority : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const char* p = "<6>";
        switch (msg.level) {
            case spdlog::level::trace:
            case spdlog::level::debug:
                p = "<7>";
                break;
            case spdlog::level::info:
                p = "<6>";
                break;
            case spdlog::level::warn:
                p = "<4>";
                break;
            case spdlog::level::err:
                p = "<3>";
                break;
            case spdlog::level::critical:
                p = "<2>";
                break;
            case spdlog::level::off:
            case spdlog::level::n_levels:
                break;
        }
        dest.append(p, p + 3);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JournalPriority>();
    }
};

}  // namespace

void setup_operator_log() {
    auto logger = spdlog::stderr_logger_mt("chainmail");
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    // systemd sets JOURNAL_STREAM when stderr is the journal, which stamps
    // every line itself: there, a priority prefix instead of our own time.
    const char* journal = std::getenv("JOURNAL_STREAM");
    if (journal && *journal) {
        auto f = std::make_unique<spdlog::pattern_formatter>();
        f->add_flag<JournalPriority>('*').set_pattern("%*%v");
        logger->set_formatter(std::move(f));
    }
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace chainmail::cli
