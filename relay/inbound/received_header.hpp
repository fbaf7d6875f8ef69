// received_header: the header fields we add at acceptance: the trace header
// we prepend (RFC 5321 §4.4, protocol keywords of RFC 3848), and a
// Message-ID (RFC 5322 §3.6.4) for a message that arrived without one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chainmail::inbound {

struct ReceivedInfo {
    std::string helo;         // as the client gave it
    std::string client_ip;    // "192.0.2.1" or "2001:db8::1"
    bool esmtp = true;        // EHLO rather than HELO
    std::string tls_version;  // empty: plaintext
    std::string tls_cipher;
    int tls_bits = 0;
    std::string auth_user;  // empty: not authenticated
    std::string by_host;    // our hostname
    std::string queue_id;
    std::string for_rcpt;  // written only for a single recipient (privacy)
    std::int64_t unix_ms = 0;
};

// The whole header, folded, ending in CRLF.
std::string received_header(const ReceivedInfo& info);

// The Message-ID field of `message`, unfolded and trimmed (at most 998 bytes);
// empty when the field is there without a value; nullopt when there is none.
std::optional<std::string> find_message_id(std::string_view message);

// "<QUEUEID@hostname>": unique because queue ids are (RFC 5322 §3.6.4).
std::string make_message_id(std::string_view queue_id, std::string_view hostname);

// RFC 5322 §3.3 date-time in UTC: "Sun, 22 Nov 2026 12:00:00 +0000".
std::string rfc5322_date(std::int64_t unix_ms);

}  // namespace chainmail::inbound
