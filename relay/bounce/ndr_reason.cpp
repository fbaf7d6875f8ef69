#include "relay/bounce/ndr_reason.hpp"

namespace chainmail::bounce {

using policy::RcptOutcome;
using policy::Reason;

ReportKind report_kind(RcptOutcome o) {
    switch (o) {
        case RcptOutcome::Bounced:
        case RcptOutcome::Expired:
            return ReportKind::Failure;
        case RcptOutcome::Deferred:
        case RcptOutcome::Cancelled:  // stopped, not settled: it stays queued
            return ReportKind::Delay;
        case RcptOutcome::Held:
            return ReportKind::Hold;
        case RcptOutcome::Delivered:
            return ReportKind::Success;
    }
    return ReportKind::Delay;
}

std::string_view to_string(ReportKind k) {
    switch (k) {
        case ReportKind::Failure:
            return "non-delivery";
        case ReportKind::Delay:
        case ReportKind::Hold:
            return "delay";
        case ReportKind::Success:
            return "delivery status";
    }
    return "delivery status";
}

std::string_view action_word(RcptOutcome o, bool relayed) {
    switch (report_kind(o)) {
        case ReportKind::Failure:
            return "failed";
        case ReportKind::Delay:
        case ReportKind::Hold:  // RFC 3464 §2.3.3: still queued, so delayed
            return "delayed";
        case ReportKind::Success:
            return relayed ? "relayed" : "delivered";
    }
    return "delayed";
}

std::string_view template_for(Reason reason, RcptOutcome o, std::string_view reply) {
    const ReportKind kind = report_kind(o);
    if (kind == ReportKind::Success) return "success";
    const bool delay = kind != ReportKind::Failure;
    switch (reason) {
        case Reason::StartTlsNotOffered:
            return "starttls_not_offered";
        case Reason::StartTlsRefused:
        case Reason::HandshakeFailed:
            return "tls_handshake_failed";
        case Reason::TlsVersionTooLow:
            return "tls_version_too_low";
        case Reason::CertificateChain:
            return "cert_untrusted";
        case Reason::CertificateName:
            return "cert_name_mismatch";
        case Reason::FingerprintMismatch:
            return "fingerprint_mismatch";
        case Reason::TlsaMismatch:
            return "tlsa_mismatch";
        case Reason::NoUsableTlsa:
            return "no_usable_tlsa";
        case Reason::NoDnssec:
            return "no_dnssec";
        case Reason::MtaStsMxMismatch:
            return "mta_sts_mismatch";
        case Reason::RequireTlsNotOffered:
            return "requiretls_not_offered";
        case Reason::RequireTlsUnauthenticated:
            return "requiretls_unauthenticated";
        case Reason::DnssecBogus:
            return "dnssec_bogus";
        case Reason::NullMx:
            return "null_mx";
        case Reason::NoSuchDomain:
            return "no_such_domain";
        case Reason::Expired:
            return delay ? "delayed" : "expired";
        case Reason::Cancelled:
            return "cancelled";
        case Reason::DnsTempFail:
        case Reason::ConnectFailed:
        case Reason::NoAddress:
            return "temp_fail";
        case Reason::None:
        case Reason::Unknown:
            break;
    }
    if (!reply.empty() && reply[0] == '5') return "peer_rejected";
    if (!reply.empty() && reply[0] == '4') return "temp_fail";
    return delay ? "delayed" : "temp_fail";
}

}  // namespace chainmail::bounce
