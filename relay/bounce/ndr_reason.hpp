// ndr_reason: what a report says per recipient. Its input is the recipient's
// policy::RcptOutcome and policy::Reason (what the delivery log carries too);
// this file derives the RFC 3464 Action, the kind of report and the text
// template. The status code is never made here: it is the failure table's.
#pragma once

#include <string>
#include <string_view>

#include "policy/failure_table.hpp"

namespace chainmail::bounce {

// The kind of report a recipient's outcome goes into; one report, one kind.
enum class ReportKind { Failure, Delay, Hold, Success };

ReportKind report_kind(policy::RcptOutcome o);

// What the operator's log calls a report of this kind ("sender non-delivery
// notification", Postfix's words): "non-delivery", "delay", "delivery status".
std::string_view to_string(ReportKind k);

// RFC 3464 §2.3.3 Action: "failed", "delayed" or "delivered"; "relayed" for a
// delivery to a next hop that did not take the DSN parameters (RFC 3461 §5.2.2).
std::string_view action_word(policy::RcptOutcome o, bool relayed);

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
// and "temp_fail" otherwise. A delivery is always "success".
std::string_view template_for(policy::Reason reason, policy::RcptOutcome o, std::string_view reply);

}  // namespace chainmail::bounce
