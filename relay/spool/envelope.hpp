// envelope: what the spool keeps of a message besides its bytes: the SMTP
// envelope, the DSN parameters (RFC 3461), the client, and per recipient the
// delivery state, so that one recipient's fate never decides another's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chainmail::spool {

// Unique and sortable by arrival time (a ULID: 26 Crockford base32 chars).
using QueueId = std::string;

// RFC 3461 NOTIFY, as bits; 0 means the client gave none.
enum NotifyBits : std::uint8_t {
    kNotifyNever = 1,
    kNotifySuccess = 2,
    kNotifyFailure = 4,
    kNotifyDelay = 8,
};

enum class Ret : std::uint8_t { Unspecified, Hdrs, Full };
enum class BodyType : std::uint8_t { SevenBit, EightBitMime };

enum class RcptState : std::uint8_t {
    Pending,    // still to be delivered
    Delivered,  // accepted by the next hop: never sent again
    Failed,     // permanent failure; an NDR is (or was) due
};

struct Recipient {
    std::string address;  // without <>
    std::string orcpt;    // ORCPT value as received ("rfc822;xtext"), empty if none
    std::uint8_t notify = 0;
    RcptState state = RcptState::Pending;
    std::uint32_t attempts = 0;
    std::int64_t next_attempt_ms = 0;  // unix ms; 0 = now
    std::string last_error;            // last reply or reason, for the queue list
};

struct Envelope {
    QueueId id;
    std::string sender;  // without <>; empty = null sender
    std::vector<Recipient> recipients;
    Ret ret = Ret::Unspecified;
    std::string envid;  // ENVID, xtext-decoded
    BodyType body = BodyType::SevenBit;
    bool smtputf8 = false;
    bool requiretls = false;
    bool held = false;
    // A report (RFC 3464) this relay generated: its delivery is logged as
    // ndr_sent, and it never gets a report itself (it has the null sender).
    bool ndr = false;
    // The delay notice (RFC 3464 Action: delayed) went out: at most one per message.
    bool delay_notice_sent = false;
    std::int64_t arrival_ms = 0;  // unix ms
    std::string client_ip;
    std::string client_helo;
    std::string client_tls;  // e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384", empty if plaintext
    std::string auth_user;
    std::string message_id;  // Message-ID header, for the log
    std::uint64_t size = 0;  // bytes of the message as stored
};

// A change to one recipient, made durable by Spool::update.
struct RecipientUpdate {
    std::size_t index = 0;  // into Envelope::recipients
    RcptState state = RcptState::Pending;
    std::uint32_t attempts = 0;
    std::int64_t next_attempt_ms = 0;
    std::string last_error;
};

}  // namespace chainmail::spool
