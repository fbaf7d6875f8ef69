// failure_table: after a failure, what happens next to a recipient (try the
// next host, defer, bounce, hold, reroute) and with which RFC 3463 status.
// Pure: the clock and the message's age come in as values. Every status a
// recipient gets from this relay is spelled in failure_table.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/outcome.hpp"
#include "policy/reply_classify.hpp"
#include "policy/tls_level.hpp"

namespace chainmail::policy {

// One recipient's outcome after an attempt: what the spool record, the
// delivery log line and the report (RFC 3464) say about it.
enum class RcptOutcome : std::uint8_t {
    Delivered,  // the next hop accepted it (250 after the final dot)
    Deferred,   // stays queued; tried again per queue.retry_schedule
    Held,       // stays queued, held for an operator (on_tls_failure: hold)
    Bounced,    // permanent failure: a report is due
    Expired,    // still failing at queue.max_lifetime: a report is due
    Cancelled,  // an operator's action stopped the attempt; that action writes its state
};

// What happened to the recipient (or to the host it was to go to).
enum class Happened : std::uint8_t {
    PeerReply,           // the next hop answered MAIL, RCPT or DATA with other than success
    TlsFailure,          // the required protection is missing on this host (Verdict::TlsFailure)
    TempFail,            // DNS, connection, no address, no answer, unknown (Verdict::TempFail)
    DestinationRefused,  // null MX, nonexistent domain (Verdict::PermFail)
    LocalError,          // this relay cannot read its own copy of the message
};

struct Trouble {
    Happened what = Happened::TempFail;
    Reason reason = Reason::Unknown;                // why, in our words; None: the reply tells
    ReplyClass reply_class = ReplyClass::TempFail;  // PeerReply: classify() of the reply
    int reply_code = 0;                             // PeerReply: 550 etc.
    std::string reply_status;                       // PeerReply: its RFC 3463 code, "" if none
};

// `policy::Outcome` of judge(), before_connect() or check_destination() as a Trouble.
Trouble trouble_of(const Outcome& o);
// The next hop's refusal of MAIL, RCPT or DATA as a Trouble.
Trouble trouble_of_reply(int code, std::string_view enhanced, Reason reason = Reason::None);

using FailureClock = std::chrono::system_clock;

// Where the attempt stands when the trouble happened.
struct Situation {
    bool hosts_left = false;    // candidate hosts of this attempt not tried yet
    bool host_skipped = false;  // an earlier host failed only temporarily (or was skipped)
    OnTlsFailure on_tls_failure = OnTlsFailure::Defer;  // the partner's
    bool fallback_next_hop = false;                     // the partner has one
    bool rerouted = false;         // this route already is the fallback_next_hop
    bool sts_unconfirmed = false;  // an MTA-STS enforce policy the live TXT record did not confirm
    FailureClock::time_point arrival{};  // the message's arrival
    FailureClock::time_point now{};
    std::chrono::seconds max_lifetime = std::chrono::hours(24 * 5);  // queue.max_lifetime
};

// The message has been queued for max_lifetime (RFC 5321 §4.5.4.1: give up).
bool past_lifetime(FailureClock::time_point arrival, FailureClock::time_point now,
                   std::chrono::seconds max_lifetime);

struct NextStep {
    Disposition step = Disposition::Defer;
    // Final for Defer, Bounce and Hold; Deferred for NextHost and Reroute
    // (the outcome if no other host or route is tried after all).
    RcptOutcome outcome = RcptOutcome::Deferred;
    std::string status;  // RFC 3463 "4.7.5", "5.4.7", ...
};

// The failure table (docs/architecture.md): one row per rule, each with its RFC.
NextStep next_step(const Trouble& t, const Situation& s);

// The status of an operator's `chainmail queue hold` (Held) or `queue bounce`
// (Bounced), or of an attempt such an action stopped (Cancelled: still
// queued, so 4.0.0): RFC 3463 §3.1 X.0.0, since no subject code fits a
// person's decision.
std::string operator_status(RcptOutcome o);

// A message our own client will not hand to this next hop, decided before a
// byte of it goes out; it then fails as if the hop had given this reply.
enum class Unsendable : std::uint8_t {
    TooBig,        // over the hop's declared SIZE
    RequireTls,    // REQUIRETLS, and the hop does not offer it over TLS
    NulBytes,      // NUL in the body
    Utf8Envelope,  // a non-ASCII envelope address, and the hop has no SMTPUTF8
};

struct UnsendableReply {
    int code = 0;
    std::string status;  // RFC 3463
};

UnsendableReply unsendable_reply(Unsendable u);

// The status of a delivery: the next hop's own 2.x.x, or 2.0.0.
std::string delivered_status(std::string_view reply_status);

// RFC 3463 enhanced status of one of our reasons: "5.7.10" etc.; `permanent`
// picks class 5 or 4. The table of subject and detail per reason.
std::string enhanced_status(Reason r, bool permanent);

// RFC 3461 §4.1 NOTIFY as the sender gave it (all false: none given).
struct Notify {
    bool never = false;
    bool success = false;
    bool failure = false;
    bool delay = false;
};

// Whether the sender wants a report of this outcome (the null sender never
// gets one: the caller knows the sender). No NOTIFY means FAILURE,DELAY.
bool report_wanted(RcptOutcome o, const Notify& n);

std::string_view to_string(RcptOutcome o);  // "delivered", "deferred", ...
std::string_view to_string(Happened h);

}  // namespace chainmail::policy
