// tls_decision: the TLS-level table as pure functions. requirement_for_host()
// says what a delivery to one host needs before connecting; judge() turns
// what the TLS client saw into an Outcome. No I/O, no clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/dns_facts.hpp"
#include "policy/outcome.hpp"
#include "policy/partner.hpp"
#include "policy/tls_facts.hpp"
#include "policy/tls_level.hpp"

namespace chainmail::policy {

enum class Starttls { Never, IfOffered, Required };

// How the peer must prove itself.
enum class AuthMethod {
    None,         // encryption only (or plaintext)
    Fingerprint,  // leaf certificate or public key SHA-256 in `fingerprints`
    Pkix,         // chain to ca_file and a name in `names`
    MtaSts,       // PKIX under an MTA-STS enforce policy; `names` = the MX host
    Dane,         // `tlsa`; DANE-TA also checks `names`, DANE-EE checks no name
};

// The verification the TLS client sets up (SSL_dane_tlsa_add, SSL_add1_host,
// DANE_FLAG_NO_DANE_EE_NAMECHECKS per RFC 7672 §3.1.1) and reports on.
struct Check {
    AuthMethod auth = AuthMethod::None;
    // Reference identifiers: "mx.example.nl" exact, ".example.nl" any subdomain
    // (OpenSSL's X509_check_host convention).
    std::vector<std::string> names;
    std::vector<Sha256> fingerprints;
    std::vector<TlsaRecord> tlsa;                  // usable records only
    TlsVersion min_version = TlsVersion::Unknown;  // Unknown: no minimum (opportunistic)
};

// Whether to connect at all.
enum class Gate {
    Connect,
    Defer,       // e.g. TLSA bogus/temp-fail where DANE could apply (RFC 7672 §2.1)
    TlsFailure,  // e.g. dane-only and no usable TLSA: refused without connecting
};

struct Demand {
    TlsLevel level = TlsLevel::May;  // the configured level (after sensitive raising)
    Gate gate = Gate::Connect;
    Reason reason = Reason::None;  // when gate != Connect
    std::string detail;
    Starttls starttls = Starttls::IfOffered;
    Check check;
    std::string why;  // "usable DANE-EE TLSA at _25._tcp.mx1.example.nl: DANE required"
};

struct Requirement {
    std::string host;  // the host this is for, named in details
    Demand apply;      // what is enforced on this connection
    // Judged but not enforced: the configured level under `mode: testing`, or
    // `secure` under an MTA-STS `testing` policy. Only one of apply/shadow
    // ever carries an authentication Check.
    std::optional<Demand> shadow;
    bool requiretls = false;  // RFC 8689: the message carries REQUIRETLS
    // The Check the TLS client must set up: the shadow's if there is one.
    const Check& verify() const { return shadow ? shadow->check : apply.check; }
};

// Before any host: null MX, bogus or failed MX lookups. nullopt: go on to the hosts.
std::optional<Outcome> check_destination(const MxFacts& mx);

// `partner` is the effective partner (see sensitive_partner()); its tls,
// mode, match, fingerprints and tls_min_version are used.
Requirement requirement_for_host(const Partner& partner, const MxFacts& mx, const HostFacts& host,
                                 const MtaStsFacts& sts = {}, bool requiretls = false);

// Non-empty when the host must not be contacted (defer or TLS failure).
std::optional<Outcome> before_connect(const Requirement& req);

// After EHLO (and STARTTLS, when done), before MAIL FROM. Under a level that
// requires TLS nothing of the message leaves unless this says Deliver.
Outcome judge(const Requirement& req, const TlsFacts& facts);

// After RetryWithoutTls: the same requirement for the plaintext reconnection
// (STARTTLS is not tried again; a shadow still reports would_fail).
Requirement plaintext_retry(Requirement req);

}  // namespace chainmail::policy
