// outcome: the closed set of delivery outcomes that policy decides, why, and
// what follows from them (next host, bounce, defer, hold, reroute) with the
// enhanced status code (RFC 3463) that the log and the NDR carry.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "policy/tls_level.hpp"

namespace chainmail::policy {

enum class Verdict {
    Deliver,          // go on with MAIL FROM on this connection
    RetryWithoutTls,  // `may`: the handshake failed; reconnect and deliver in plaintext
    TlsFailure,       // the required protection is not there (this host)
    TempFail,         // try later (this host); an unknown error always lands here
    PermFail,         // the destination itself is refused (null MX, no such domain)
};

// What authenticated the peer, as the delivery log's `tls.auth` names it.
enum class AuthLabel { DaneEe, DaneTa, Pkix, MtaSts, Fingerprint, None, Plaintext };

enum class Reason {
    None,
    // TLS failures
    StartTlsNotOffered,
    StartTlsRefused,  // the server answered STARTTLS with an error
    HandshakeFailed,
    TlsVersionTooLow,
    CertificateChain,      // PKIX chain does not verify to ca_file
    CertificateName,       // no reference name matched
    FingerprintMismatch,   // neither certificate nor key is in `fingerprints`
    TlsaMismatch,          // usable TLSA records, none matched the peer
    NoUsableTlsa,          // DANE required, the host has no usable TLSA records
    NoDnssec,              // authentication needs a DNSSEC-secure MX (and has no other way)
    MtaStsMxMismatch,      // the MX is not among the MTA-STS policy's patterns
    RequireTlsNotOffered,  // RFC 8689: the next hop does not offer REQUIRETLS
    // RFC 8689 §4.2.1: a REQUIRETLS message, and the next hop cannot be
    // authenticated (no DANE, no MTA-STS, no PKIX on a DNSSEC-secure MX name)
    RequireTlsUnauthenticated,
    // deferrals
    DnsTempFail,  // SERVFAIL or timeout
    DnssecBogus,
    ConnectFailed,
    NoAddress,  // the host name has no A/AAAA record
    Unknown,
    // permanent destination failures
    NullMx,  // RFC 7505
    NoSuchDomain,
    // queue lifetime
    Expired,
    // the operator gave up on the message (`chainmail queue bounce`)
    Cancelled,  // stays last: kReasons counts up to it
};
constexpr int kReasons = static_cast<int>(Reason::Cancelled) + 1;

struct Outcome {
    Verdict verdict = Verdict::TempFail;
    AuthLabel auth = AuthLabel::Plaintext;  // for Deliver
    Reason reason = Reason::None;           // for every verdict but Deliver
    std::string detail;                     // plain words for the log and the NDR
    // `mode: testing` or an MTA-STS `testing` policy: what the configured
    // level would have refused, while this delivery went ahead.
    std::optional<Reason> would_fail;
    std::string would_fail_detail;
};

// A temporary failure for `r`: what a lookup or connection that went wrong
// before any TLS verdict becomes (never a bounce by itself).
inline Outcome temp_failure(Reason r, std::string detail) {
    Outcome o;
    o.verdict = Verdict::TempFail;
    o.reason = r;
    o.detail = std::move(detail);
    return o;
}

// What the delivery engine does next, after a non-Deliver outcome
// (next_step() in policy/failure_table.hpp decides it).
enum class Disposition {
    NextHost,  // try the next candidate host in this attempt
    Bounce,    // permanent: NDR (only once every candidate host was tried)
    Defer,     // retry later per queue.retry_schedule
    Hold,      // keep in the queue, held, until an operator acts
    Reroute,   // hand to fallback_next_hop under `secure`
};

// The reasons of the product's "TLS failure" (what on_tls_failure acts on).
constexpr bool is_tls_failure(Reason r) {
    switch (r) {
        case Reason::StartTlsNotOffered:
        case Reason::StartTlsRefused:
        case Reason::HandshakeFailed:
        case Reason::TlsVersionTooLow:
        case Reason::CertificateChain:
        case Reason::CertificateName:
        case Reason::FingerprintMismatch:
        case Reason::TlsaMismatch:
        case Reason::NoUsableTlsa:
        case Reason::NoDnssec:
        case Reason::MtaStsMxMismatch:
        case Reason::RequireTlsNotOffered:
        case Reason::RequireTlsUnauthenticated:
            return true;
        case Reason::None:
        case Reason::DnsTempFail:
        case Reason::DnssecBogus:
        case Reason::ConnectFailed:
        case Reason::NoAddress:
        case Reason::Unknown:
        case Reason::NullMx:
        case Reason::NoSuchDomain:
        case Reason::Expired:
        case Reason::Cancelled:
            return false;
    }
    return false;
}

std::string_view to_string(Verdict v);
std::string_view to_string(AuthLabel a);  // "dane-ee", ..., "plaintext"
std::string_view to_string(Reason r);     // "starttls-not-offered", ...
// The Reason whose to_string() is `s` (the delivery log's `reason`); nullopt
// for any other text.
std::optional<Reason> parse_reason(std::string_view s);
std::string_view to_string(Disposition d);

}  // namespace chainmail::policy
