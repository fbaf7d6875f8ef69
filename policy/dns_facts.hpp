// dns_facts: what the resolver hands up to policy, per destination and per
// host, with the DNSSEC state of every lookup. Pure data plus the RFC 7671 /
// RFC 7672 / RFC 8461 predicates over it (TLSA usability, MX patterns).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chainmail::policy {

// The state of one DNS lookup after DNSSEC validation.
enum class DnsState {
    Secure,    // answer validated by DNSSEC
    Insecure,  // answer from an unsigned zone (provably insecure)
    Bogus,     // validation failed: never used, always a deferral
    TempFail,  // SERVFAIL, timeout, network error: always a deferral
    NotFound,  // NXDOMAIN or NODATA (Secure or not: see `not_found_secure`)
};

// The outcome of the TLSA lookup for one host (RFC 7672 §2.2).
enum class TlsaState {
    NotApplicable,    // not looked up: host name or address not from a secure lookup
    Secure,           // validated records (may still all be unusable)
    SecureNoRecords,  // validated NXDOMAIN or NODATA: the host has no TLSA
    Insecure,         // TLSA zone unsigned
    Bogus,            // validation failed
    TempFail,         // SERVFAIL or timeout
};

struct TlsaRecord {
    std::uint8_t usage = 0;     // 2 = DANE-TA, 3 = DANE-EE (others unusable for SMTP)
    std::uint8_t selector = 0;  // 0 = full certificate, 1 = SubjectPublicKeyInfo
    std::uint8_t mtype = 0;     // 0 = exact, 1 = SHA2-256, 2 = SHA2-512
    std::vector<std::uint8_t> data;
    friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

struct TlsaFacts {
    TlsaState state = TlsaState::NotApplicable;
    std::vector<TlsaRecord> records;  // only for Secure
};

// One candidate host (an MX target, the domain itself, or a configured next hop).
struct HostFacts {
    std::string name;  // lower case, no trailing dot
    std::uint16_t preference = 0;
    std::uint16_t port = 25;
    DnsState address = DnsState::Secure;  // the A/AAAA lookup (worst of both)
    TlsaFacts tlsa;
};

// Where the host list came from.
enum class HostSource {
    Mx,        // the domain's MX records
    Implicit,  // no MX: the domain itself (RFC 5321 §5.1)
    NextHop,   // a configured "[host]:port": no MX lookup, the name is trusted config
};

// The MX step for one next-hop domain.
struct MxFacts {
    std::string domain;  // the next-hop domain (recipient domain, or next_hop host)
    HostSource source = HostSource::Mx;
    DnsState state = DnsState::Secure;  // the MX lookup (Implicit: the lookup that found no MX)
    bool null_mx = false;               // RFC 7505: a single "MX 0 ." record
    std::vector<HostFacts> hosts;       // in the order they will be tried
};

// An MTA-STS policy fetched for the recipient domain (RFC 8461), if any.
struct MtaStsFacts {
    enum class Mode { None, Enforce, Testing };
    Mode mode = Mode::None;
    std::vector<std::string> mx_patterns;  // "mx.example.nl" or "*.example.nl"
    std::string id;                        // the policy's TXT id, for the log
    std::int64_t max_age = 0;              // seconds; TLSRPT's policy-string names it
    // RFC 8461 §5.1: the policy was checked against the live TXT record in
    // this attempt. A failure it causes is never permanent otherwise.
    bool current = true;
    // Why no policy applies (or where it came from), in plain words for the
    // log and the refusal of `authenticated`: "example.nl publishes no MTA-STS policy".
    std::string note;
    // The domain publishes a policy (its `_mta-sts` TXT record) that could not
    // be used, and no cached one applies: RFC 8460 §4.3.2.3 reports this.
    enum class Unusable { No, FetchError, Invalid, WebpkiInvalid };
    Unusable unusable = Unusable::No;
};

// RFC 7672 §3.1, RFC 7671 §4: usable = DANE-TA(2) or DANE-EE(3), selector 0
// or 1, matching type 0, 1 or 2, with a digest of the right length.
bool tlsa_usable(const TlsaRecord& r);
// The usable records of a Secure TLSA answer; empty for every other state.
std::vector<TlsaRecord> usable_tlsa(const TlsaFacts& t);

// RFC 7672 §2.2: TLSA records count only when the host name came from a
// DNSSEC-secure lookup (or the configuration) and its address lookup was secure.
bool host_name_secure(const MxFacts& mx, const HostFacts& host);
bool dane_applies(const MxFacts& mx, const HostFacts& host);

// RFC 8461 §4.1: "*.example.nl" matches exactly one leftmost label.
bool mx_pattern_matches(std::string_view pattern, std::string_view host);

std::string_view to_string(DnsState s);
std::string_view to_string(TlsaState s);

}  // namespace chainmail::policy
