#include "relay/bounce/ndr_reason.hpp"

#include <optional>

#include "policy/smtp_reply.hpp"

namespace chainmail::bounce {
namespace {

using policy::Reason;

// "5.7.1" after the 3-digit code of a reply line ("550 5.7.1 text"), if valid.
std::optional<std::string> enhanced_code(std::string_view reply) {
    if (reply.size() < 4) return std::nullopt;
    return policy::parse_enhanced_status(reply.substr(4));
}

}  // namespace

std::string_view to_string(Action action) {
    switch (action) {
        case Action::Failed:
            return "failed";
        case Action::Delayed:
            return "delayed";
        case Action::Delivered:
            return "delivered";
        case Action::Relayed:
            return "relayed";
    }
    return "failed";
}

std::string_view template_for(Reason reason, Action action, std::string_view reply) {
    switch (action) {
        case Action::Delivered:
        case Action::Relayed:
            return "success";
        case Action::Failed:
        case Action::Delayed:
            break;
    }
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
            return action == Action::Delayed ? "delayed" : "expired";
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
    return action == Action::Delayed ? "delayed" : "temp_fail";
}

std::string status_for(Reason reason, Action action, std::string_view reply) {
    char cls = '5';
    switch (action) {
        case Action::Failed:
            cls = '5';
            break;
        case Action::Delayed:
            cls = '4';
            break;
        case Action::Delivered:
        case Action::Relayed:
            cls = '2';
            break;
    }
    if (cls == '2') {
        auto code = enhanced_code(reply);
        return code && (*code)[0] == '2' ? *code : "2.0.0";
    }
    if (reason == Reason::None || reason == Reason::Unknown) {
        // RFC 3464 §2.3.4: the status of the peer's reply, passed on as given.
        if (auto code = enhanced_code(reply); code && (*code)[0] == cls) return *code;
        if (auto code = enhanced_code(reply)) return cls + code->substr(1);
        return std::string(1, cls) + ".0.0";
    }
    // One table for the log and the report: policy/outcome.cpp.
    return policy::enhanced_status(reason, cls == '5');
}

}  // namespace chainmail::bounce
