#include "relay/log/delivery_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "relay/clock/wall_clock.hpp"

namespace chainmail::log {

namespace {

std::string iso_time(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buf;
}

int open_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

// One JSON object being written, members in the order they are added.
struct JsonLine {
    std::string out;

    JsonLine() {
        out.reserve(512);  // a delivered line with TLS is about 400 bytes
        out += '{';
    }

    void key(std::string_view k) {
        if (out.size() > 1) out += ',';
        out += '"';
        out += k;
        out += "\":";
    }
    // Printable ASCII other than '"' and '\\' needs no escaping, and is
    // nearly every value; anything else (peer-supplied text may hold control
    // characters or invalid UTF-8) is escaped by nlohmann, invalid UTF-8
    // replaced rather than thrown on.
    void string(std::string_view v) {
        const bool plain = std::all_of(v.begin(), v.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
        });
        if (plain) {
            out += '"';
            out += v;
            out += '"';
            return;
        }
        out += nlohmann::ordered_json(std::string(v))
                   .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    void str(std::string_view k, std::string_view v) {
        key(k);
        string(v);
    }
    // Empty strings are left out of the line.
    void opt(std::string_view k, std::string_view v) {
        if (!v.empty()) str(k, v);
    }
    void num(std::string_view k, std::uint64_t v) {
        key(k);
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        out.append(buf, r.ptr);
    }
    std::string close() {
        out += '}';
        return std::move(out);
    }
};

}  // namespace

const char* event_name(Event e) {
    switch (e) {
        case Event::Received:
            return "received";
        case Event::Delivered:
            return "delivered";
        case Event::Deferred:
            return "deferred";
        case Event::Bounced:
            return "bounced";
        case Event::Expired:
            return "expired";
        case Event::NdrSent:
            return "ndr_sent";
        case Event::Held:
            return "held";
        case Event::Deleted:
            return "deleted";
    }
    return "unknown";
}

std::string to_json_line(const DeliveryEvent& e) {
    // Written directly (one line per recipient and attempt: nlohmann's
    // ordered map cost more than the rest of settling); the key order is
    // docs/delivery-log.md's, the bytes those of nlohmann::ordered_json::dump().
    JsonLine j;
    j.str("ts", iso_time(e.ts_ms ? e.ts_ms : clock::now_ms()));
    j.str("event", event_name(e.event));
    j.opt("queue_id", e.queue_id);
    j.opt("message_id", e.message_id);
    j.str("from", e.from);
    j.opt("rcpt", e.rcpt);
    if (!e.rcpts.empty()) {
        j.key("rcpts");
        j.out += '[';
        for (std::size_t i = 0; i < e.rcpts.size(); ++i) {
            if (i) j.out += ',';
            j.string(e.rcpts[i]);
        }
        j.out += ']';
    }
    j.opt("partner", e.partner);
    j.opt("policy", e.policy);
    j.opt("host", e.host);
    j.opt("ip", e.ip);
    if (e.port) j.num("port", e.port);
    if (e.tls) {
        j.key("tls");
        JsonLine t;
        t.str("version", e.tls->version);
        t.str("cipher", e.tls->cipher);
        t.opt("auth", e.tls->auth);
        j.out += t.close();
    }
    j.opt("dsn", e.dsn);
    j.opt("reply", e.reply);
    j.opt("reason", e.reason);
    if (e.attempt) j.num("attempt", e.attempt);
    if (e.delay_s) {
        j.key("delay_s");
        // nlohmann's shortest round-trip form ("0.41", "3.0", "1e-05").
        j.out += nlohmann::ordered_json(*e.delay_s).dump();
    }
    j.opt("would_fail", e.would_fail);
    if (!e.sensitive.empty()) {
        j.key("sensitive");
        j.out += "true";
        j.str("sensitive_why", e.sensitive);
    }
    j.opt("tls_required_no", e.tls_required_no);
    j.opt("ndr_queue_id", e.ndr_queue_id);
    if (e.size) j.num("size", *e.size);
    j.opt("client_ip", e.client_ip);
    j.opt("client_helo", e.client_helo);
    j.opt("auth_user", e.auth_user);
    return j.close();
}

DeliveryLog::DeliveryLog(const std::string& path) : path_(path), fd_(open_append(path)) {
    if (fd_ < 0)
        throw std::runtime_error("cannot open delivery log " + path + ": " + std::strerror(errno));
}

DeliveryLog::~DeliveryLog() {
    if (fd_ >= 0) ::close(fd_);
}

void DeliveryLog::write(const DeliveryEvent& e) {
    if (observer_) observer_(e);
    std::string line = to_json_line(e);
    line.push_back('\n');
    std::lock_guard lock(mu_);
    if (fd_ < 0) return;
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            spdlog::error("delivery log {}: write failed: {}", path_, std::strerror(errno));
            return;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

void DeliveryLog::reopen() {
    std::lock_guard lock(mu_);
    if (path_.empty()) return;
    int fd = open_append(path_);
    if (fd < 0) {
        spdlog::error("delivery log {}: reopen failed: {}", path_, std::strerror(errno));
        return;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

}  // namespace chainmail::log
