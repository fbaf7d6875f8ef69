// ndr_reason: what a report says per recipient. The cause is policy::Reason
// (the same enum the delivery log carries); this file maps a cause and an
// RFC 3464 action to the text template and to the RFC 3463 status code.
#pragma once

#include <string>
#include <string_view>

#include "policy/failure_table.hpp"

namespace chainmail::bounce {

// RFC 3464 §2.3.3 Action values.
enum class Action { Failed, Delayed, Delivered, Relayed };

std::string_view to_string(Action action);  // "failed", "delayed", ...

// The per-recipient text templates ("<name>.<lang>.txt"), one per cause the
// sender is told about. Several policy reasons share one text.
inline constexpr std::string_view kReasonTemplates[] = {
    "starttls_not_offered",
    "tls_handshake_failed",
    "tls_version_too_low",
    "cert_untrusted",
    "cert_name_mismatch",
    "fingerprint_mismatch",
    "tlsa_mismatch",
    "no_usable_tlsa",
    "no_dnssec",
    "mta_sts_mismatch",
    "requiretls_not_offered",
    "requiretls_unauthenticated",
    "dnssec_bogus",
    "null_mx",
    "no_such_domain",
    "cancelled",
    "peer_rejected",
    "temp_fail",
    "expired",
    "delayed",
    "success",
};

// Reason::None and Reason::Unknown are told by the peer's reply: a 5xx is
// "peer_rejected", a 4xx "temp_fail"; without a reply "delayed" for a delay
// and "temp_fail" otherwise. Delivered/Relayed are always "success".
std::string_view template_for(policy::Reason reason, Action action, std::string_view reply);

// RFC 3463 status: the class follows the action (5 failed, 4 delayed, 2
// delivered/relayed). The peer's own enhanced code (or, without one, its
// basic code's class) is passed on as given for Reason::None/Unknown.
// Expired is 4.4.7 in a delay notice and 5.4.7 when final.
std::string status_for(policy::Reason reason, Action action, std::string_view reply);

}  // namespace chainmail::bounce
