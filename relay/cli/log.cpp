// log: `chainmail log` reads the delivery log and its rotated (also gzipped)
// files oldest first, filters, and prints a table or the JSON lines as they
// stand; --follow then tails the live file across rotation.
#include <fmt/core.h>

#include <csignal>
#include <cstdio>

#include "relay/cli/cli.hpp"
#include "relay/clock/wall_clock.hpp"
#include "relay/log/log_files.hpp"
#include "relay/log/log_reader.hpp"
#include "relay/log/log_time.hpp"

namespace chainmail::cli {

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) {
    g_stop = 1;
}

std::string clip(std::string s, std::size_t width) {
    if (s.size() > width && width > 1) {
        s.resize(width - 1);
        s += "~";
    }
    return s;
}

// The TLS column: "TLSv1.3 dane-ee", "plaintext", or "" where no delivery happened.
std::string tls_column(const log::LogRecord& r) {
    if (r.has_tls) {
        std::string auth = r.tls_auth.str();
        if (auth == "none") auth = "encrypt-only";
        return r.tls_version.str() + (auth.empty() ? "" : " " + auth);
    }
    if (r.event.equals("delivered") || r.event.equals("ndr_sent")) return "plaintext";
    return "";
}

std::string reply_column(const log::LogRecord& r) {
    std::string out;
    if (!r.would_fail.empty())
        out += "[would fail under " + r.policy.str() + ": " + r.would_fail.str() + "] ";
    if (r.event.equals("received")) {
        out += "from=<" + r.from.str() + ">";
        if (!r.size.empty()) out += " size=" + std::string(r.size);
        if (!r.client_ip.empty()) out += " client=" + r.client_ip.str();
        return out;
    }
    if (!r.host.empty()) {
        out += r.host.str();
        if (!r.ip.empty() && !r.ip.equals(r.host.raw)) out += "[" + r.ip.str() + "]";
        out += ": ";
    }
    out += r.reply.str();
    if (!r.ndr_queue_id.empty()) out += " (report " + r.ndr_queue_id.str() + ")";
    return out;
}

std::string rcpt_column(const log::LogRecord& r) {
    if (!r.rcpt.empty()) return r.rcpt.str();
    std::string first;
    std::size_t n = 0;
    log::for_each_string(r.rcpts, [&](const log::JsonText& t) {
        if (n++ == 0) first = t.str();
    });
    return n > 1 ? first + fmt::format(" (+{})", n - 1) : first;
}

void print_header() {
    fmt::print("{:<19}  {:<26}  {:<30}  {:<16}  {:<9}  {:<20}  {}\n", "time (local)", "queue id",
               "recipient", "partner", "result", "TLS", "reply");
}

void print_row(const log::LogRecord& r) {
    const auto ms = log::parse_ts(r.ts.str());
    fmt::print("{:<19}  {:<26}  {:<30}  {:<16}  {:<9}  {:<20}  {}\n",
               ms ? log::local_time(*ms) : r.ts.str(), r.queue_id.str(), clip(rcpt_column(r), 30),
               clip(r.partner.str(), 16), r.event.str(), tls_column(r), reply_column(r));
}

}  // namespace

int cmd_log(const Common& common, const LogOptions& o) {
    log::LogFilter f = o.filter;
    const std::int64_t now = clock::now_ms();
    std::string err;
    if (!o.since.empty() && !(f.since_ms = log::parse_when(o.since, now, err))) {
        fmt::print(stderr, "chainmail log: --since {}\n", err);
        return 2;
    }
    if (!o.until.empty() && !(f.until_ms = log::parse_when(o.until, now, err))) {
        fmt::print(stderr, "chainmail log: --until {}\n", err);
        return 2;
    }
    std::vector<std::string> files = o.files;
    std::string live;
    if (files.empty()) {
        auto config = load(common);
        if (!config) return 1;
        live = config->log.delivery_log;
        if (live.empty()) {
            fmt::print(stderr,
                       "chainmail log: {} sets no log.delivery_log, so there is no delivery log "
                       "to read; name the files on the command line instead\n",
                       config->source);
            return 1;
        }
        files = log::rotated_set(live);
    } else {
        live = files.back();
    }

    bool header = false;
    log::LogReader reader(log::prefilter_for(f),
                          [&](std::string_view line, const log::LogRecord& rec) {
                              if (!log::matches(f, rec)) return;
                              if (o.json) {
                                  fmt::print("{}\n", line);
                                  return;
                              }
                              if (!header) print_header();
                              header = true;
                              print_row(rec);
                          });
    const auto read = [&](const std::vector<std::string>& paths) {
        if (o.files.empty())
            reader.read_files(paths);  // one relay's rotated set: oldest first
        else
            for (const std::string& p : paths) reader.read_file(p);
    };
    if (!o.follow) {
        read(files);
    } else {
        // Like tail -f: from the end of the live file, unless --since asks for
        // the past too (then the older files, and the live one from its start).
        if (f.since_ms) read({files.begin(), files.end() - 1});
        std::fflush(stdout);
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
        std::signal(SIGINT, on_stop_signal);
        std::signal(SIGTERM, on_stop_signal);
        reader.follow(live, f.since_ms.has_value(), &g_stop);
    }
    std::fflush(stdout);
    if (std::string s = reader.damage_summary(); !s.empty())
        fmt::print(stderr, "chainmail log: warning: {}\n", s);
    if (reader.stats().files == 0 && !o.follow) {
        fmt::print(stderr, "chainmail log: no delivery log could be read\n");
        return 1;
    }
    return 0;
}

}  // namespace chainmail::cli
