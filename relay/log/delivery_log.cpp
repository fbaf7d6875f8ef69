#include "relay/log/delivery_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

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

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int open_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

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
    // nlohmann::ordered_json keeps the order of docs/delivery-log.md.
    nlohmann::ordered_json j;
    j["ts"] = iso_time(e.ts_ms ? e.ts_ms : now_ms());
    j["event"] = event_name(e.event);
    auto put = [&j](const char* key, const std::string& v) {
        if (!v.empty()) j[key] = v;
    };
    put("queue_id", e.queue_id);
    put("message_id", e.message_id);
    j["from"] = e.from;
    put("rcpt", e.rcpt);
    if (!e.rcpts.empty()) j["rcpts"] = e.rcpts;
    put("partner", e.partner);
    put("policy", e.policy);
    put("host", e.host);
    put("ip", e.ip);
    if (e.port) j["port"] = e.port;
    if (e.tls) {
        nlohmann::ordered_json t;
        t["version"] = e.tls->version;
        t["cipher"] = e.tls->cipher;
        if (!e.tls->auth.empty()) t["auth"] = e.tls->auth;
        j["tls"] = std::move(t);
    }
    put("dsn", e.dsn);
    put("reply", e.reply);
    put("reason", e.reason);
    if (e.attempt) j["attempt"] = e.attempt;
    if (e.delay_s) j["delay_s"] = *e.delay_s;
    put("would_fail", e.would_fail);
    if (!e.sensitive.empty()) {
        j["sensitive"] = true;
        j["sensitive_why"] = e.sensitive;
    }
    put("tls_required_no", e.tls_required_no);
    put("ndr_queue_id", e.ndr_queue_id);
    if (e.size) j["size"] = *e.size;
    put("client_ip", e.client_ip);
    put("client_helo", e.client_helo);
    put("auth_user", e.auth_user);
    // Peer-supplied text may be invalid UTF-8: replace rather than throw.
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
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
