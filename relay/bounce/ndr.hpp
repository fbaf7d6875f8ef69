// ndr: builds the bytes of one RFC 3464 report (multipart/report, RFC 6522)
// for one message and one kind of outcome, listing exactly its recipients.
// Pure: no I/O, no clock (now is passed in). The caller queues the result with
// the null sender (RFC 5321 §4.5.5) to the original sender.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "policy/outcome.hpp"
#include "relay/bounce/ndr_reason.hpp"
#include "relay/bounce/ndr_template.hpp"
#include "relay/spool/envelope.hpp"

namespace chainmail::bounce {

// One recipient in the report, as the delivery stage saw it.
struct NdrRecipient {
    std::string address;  // RCPT TO, without <>: Final-Recipient
    std::string orcpt;    // ORCPT as received ("rfc822;xtext"), empty if none
    policy::RcptOutcome outcome = policy::RcptOutcome::Bounced;  // gives Action and the kind
    bool relayed = false;  // Delivered to a next hop without DSN: Action "relayed"
    // RFC 3463 Status, as the failure table gave it (policy/failure_table.hpp)
    // and the delivery log's dsn shows it; never empty.
    std::string status;
    policy::Reason reason = policy::Reason::None;  // None: the peer's reply tells
    std::string host;                              // Remote-MTA, empty when no host was reached
    std::string ip;
    std::string reply;                      // the peer's reply, lines joined by "\n"; empty if none
    std::string detail;                     // plain technical facts (TLS, TLSA, certificate)
    std::optional<policy::TlsLevel> level;  // the level that was required
    std::string partner;                    // config partner name; empty: `defaults`
    std::int64_t last_attempt_ms = 0;       // unix ms; 0: no attempt made
};

struct NdrOptions {
    std::int64_t now_ms = 0;          // Date:, and the Message-ID when generated
    std::int64_t retry_until_ms = 0;  // Will-Retry-Until; 0: arrival + max_lifetime
    std::string message_id;           // "<id@host>"; empty: generated
};

struct NdrMessage {
    ReportKind kind = ReportKind::Failure;
    std::string bytes;       // the whole message, CRLF line ends
    std::string message_id;  // "<...@hostname>"
    bool eight_bit = false;  // send with BODY=8BITMIME
    bool smtputf8 = false;   // send with SMTPUTF8 (the sender address is UTF-8)
};

// Whether the sender asked for a report of this outcome (RFC 3461 §4.1):
// never for the null sender; otherwise policy::report_wanted().
bool report_wanted(const spool::Envelope& env, const spool::Recipient& rcpt, policy::RcptOutcome o);

// Builds the report. Every recipient must be one of env.recipients, carry a
// status, and all share one kind (report_kind() of their outcomes: failure,
// delay, hold or success); otherwise std::invalid_argument (a broken
// invariant of the caller). `original` is the message as spooled (CRLF lines).
NdrMessage build_ndr(const config::Config& config, const NdrTemplates& templates,
                     const spool::Envelope& env, std::string_view original,
                     std::span<const NdrRecipient> recipients, const NdrOptions& options);

}  // namespace chainmail::bounce
