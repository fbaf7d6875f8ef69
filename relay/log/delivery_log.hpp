// delivery_log: the delivery log (docs/delivery-log.md), one JSON object per line.
// write() is thread-safe and appends each line with one write(2) on an
// O_APPEND descriptor, so a reader never sees half a line from us.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chainmail::log {

// Held: on_tls_failure: hold or `queue hold`; Deleted: `queue delete`.
enum class Event : std::uint8_t {
    Received,
    Delivered,
    Deferred,
    Bounced,
    Expired,
    NdrSent,
    Held,
    Deleted
};

const char* event_name(Event e);

struct TlsInfo {
    std::string version;  // "TLSv1.3"
    std::string cipher;   // "TLS_AES_256_GCM_SHA384"
    std::string auth;     // dane-ee, dane-ta, pkix, mta-sts, fingerprint, none; empty: omitted
};

// Fields left empty (or zero / nullopt) are omitted from the line.
struct DeliveryEvent {
    Event event = Event::Received;
    std::int64_t ts_ms = 0;  // unix ms; 0 = now
    std::string queue_id;
    std::string message_id;
    std::string from;  // written even when empty: "" is the null sender
    // delivered / deferred / bounced / expired: one recipient per line.
    std::string rcpt;
    std::string partner;
    std::string policy;
    std::string host;
    std::string ip;
    std::uint16_t port = 0;
    std::optional<TlsInfo> tls;
    std::string dsn;     // "2.0.0"
    std::string reply;   // the next hop's reply, or our reason in words
    std::string reason;  // deferred / bounced: policy::Reason's name when ours ("tlsa-mismatch")
    std::uint32_t attempt = 0;
    std::optional<double> delay_s;
    std::string would_fail;  // mode: testing, the reason the level would refuse
    // The sender marked the message sensitive (docs/sensitive.md): why, e.g.
    // "REQUIRETLS" or `subject tag "[vertrouwelijk]"`; empty: not marked.
    std::string sensitive;
    std::string tls_required_no;  // RFC 8689 "TLS-Required: No": "honoured" or "ignored"
    std::string ndr_queue_id;     // bounced / expired / ndr_sent: the NDR's queue id
    // received: the whole envelope and the client.
    std::vector<std::string> rcpts;
    std::optional<std::uint64_t> size;
    std::string client_ip;
    std::string client_helo;
    std::string auth_user;
};

// The line without its newline, for tests and for writers elsewhere.
std::string to_json_line(const DeliveryEvent& e);

class DeliveryLog {
  public:
    DeliveryLog() = default;  // disabled: write() does nothing
    // Opens (creating, mode 0640) `path` for appending; throws on failure.
    explicit DeliveryLog(const std::string& path);
    ~DeliveryLog();
    DeliveryLog(const DeliveryLog&) = delete;
    DeliveryLog& operator=(const DeliveryLog&) = delete;

    // Appends one line; a failed write is logged (spdlog) and not retried.
    void write(const DeliveryEvent& e);
    // Called after each write() with the event (e.g. ProtectionWatch for the
    // metrics counter). Set it before the first write(); it must be thread-safe.
    void set_observer(std::function<void(const DeliveryEvent&)> f) { observer_ = std::move(f); }
    // Re-opens the path (after log rotation); keeps the old file on failure.
    void reopen();
    const std::string& path() const { return path_; }

  private:
    std::mutex mu_;
    std::function<void(const DeliveryEvent&)> observer_;
    std::string path_;
    int fd_ = -1;
};

}  // namespace chainmail::log
