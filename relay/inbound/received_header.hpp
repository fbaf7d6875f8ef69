// received_header: the trace header we prepend (RFC 5321 §4.4), with the
// protocol keyword of RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA).
#pragma once

#include <cstdint>
#include <string>

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

// RFC 5322 §3.3 date-time in UTC: "Sun, 22 Nov 2026 12:00:00 +0000".
std::string rfc5322_date(std::int64_t unix_ms);

}  // namespace chainmail::inbound
