#include "policy/outcome.hpp"

namespace chainmail::policy {

std::string_view to_string(Verdict v) {
    switch (v) {
        case Verdict::Deliver:
            return "deliver";
        case Verdict::RetryWithoutTls:
            return "retry-without-tls";
        case Verdict::TlsFailure:
            return "tls-failure";
        case Verdict::TempFail:
            return "temp-fail";
        case Verdict::PermFail:
            return "perm-fail";
    }
    return "?";
}

std::string_view to_string(AuthLabel a) {
    switch (a) {
        case AuthLabel::DaneEe:
            return "dane-ee";
        case AuthLabel::DaneTa:
            return "dane-ta";
        case AuthLabel::Pkix:
            return "pkix";
        case AuthLabel::MtaSts:
            return "mta-sts";
        case AuthLabel::Fingerprint:
            return "fingerprint";
        case AuthLabel::None:
            return "none";
        case AuthLabel::Plaintext:
            return "plaintext";
    }
    return "?";
}

std::string_view to_string(Reason r) {
    switch (r) {
        case Reason::None:
            return "none";
        case Reason::StartTlsNotOffered:
            return "starttls-not-offered";
        case Reason::StartTlsRefused:
            return "starttls-refused";
        case Reason::HandshakeFailed:
            return "handshake-failed";
        case Reason::TlsVersionTooLow:
            return "tls-version-too-low";
        case Reason::CertificateChain:
            return "certificate-chain";
        case Reason::CertificateName:
            return "certificate-name";
        case Reason::FingerprintMismatch:
            return "fingerprint-mismatch";
        case Reason::TlsaMismatch:
            return "tlsa-mismatch";
        case Reason::NoUsableTlsa:
            return "no-usable-tlsa";
        case Reason::NoDnssec:
            return "no-dnssec";
        case Reason::MtaStsMxMismatch:
            return "mta-sts-mx-mismatch";
        case Reason::RequireTlsNotOffered:
            return "requiretls-not-offered";
        case Reason::RequireTlsUnauthenticated:
            return "requiretls-unauthenticated";
        case Reason::DnsTempFail:
            return "dns-temp-fail";
        case Reason::DnssecBogus:
            return "dnssec-bogus";
        case Reason::ConnectFailed:
            return "connect-failed";
        case Reason::NoAddress:
            return "no-address";
        case Reason::Unknown:
            return "unknown";
        case Reason::NullMx:
            return "null-mx";
        case Reason::NoSuchDomain:
            return "no-such-domain";
        case Reason::Expired:
            return "expired";
        case Reason::Cancelled:
            return "cancelled";
    }
    return "?";
}

std::optional<Reason> parse_reason(std::string_view s) {
    for (int i = 0; i < kReasons; ++i) {
        const auto r = static_cast<Reason>(i);
        if (to_string(r) == s) return r;
    }
    return std::nullopt;
}

std::string_view to_string(Disposition d) {
    switch (d) {
        case Disposition::NextHost:
            return "next-host";
        case Disposition::Bounce:
            return "bounce";
        case Disposition::Defer:
            return "defer";
        case Disposition::Hold:
            return "hold";
        case Disposition::Reroute:
            return "reroute";
    }
    return "?";
}

}  // namespace chainmail::policy
