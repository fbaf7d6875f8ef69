// tlsrpt: RFC 8460 as pure functions: which policy a session falls under
// (§4.3.1), which result type a TLS failure of ours is (§4.3.2), counting a
// day's sessions, and the `_smtp._tls` TXT record (§3). No I/O, no clock.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/dns_facts.hpp"
#include "policy/outcome.hpp"

namespace chainmail::policy {

// §4.3.1 policy-type.
enum class TlsrptPolicyType { Tlsa, Sts, NoPolicyFound };

// §4.3.2 result types (the negotiation, policy and general failures).
enum class TlsrptResult {
    StarttlsNotSupported,
    CertificateHostMismatch,
    CertificateExpired,
    CertificateNotTrusted,
    ValidationFailure,
    TlsaInvalid,
    DnssecInvalid,
    DaneRequired,
    StsPolicyFetchError,
    StsPolicyInvalid,
    StsWebpkiInvalid,
};

std::string_view to_string(TlsrptPolicyType t);  // "tlsa", "sts", "no-policy-found"
std::string_view to_string(TlsrptResult r);      // "starttls-not-supported", ...
std::optional<TlsrptPolicyType> parse_tlsrpt_policy_type(std::string_view s);
std::optional<TlsrptResult> parse_tlsrpt_result(std::string_view s);

// The result type of one of our TLS failures; nullopt when `r` is not about
// TLS (a connection that failed, a DNS time-out: no TLS session to report) or
// is about REQUIRETLS, which the domain's policy does not cover. `detail` is
// the outcome's words: an expired certificate says so there.
std::optional<TlsrptResult> tlsrpt_result(Reason r, std::string_view detail);

// §4.4 "policy": what the domain published, as the report names it.
struct TlsrptPolicy {
    TlsrptPolicyType type = TlsrptPolicyType::NoPolicyFound;
    std::string domain;                // policy-domain: the recipient domain
    std::vector<std::string> strings;  // policy-string: TLSA RRs or the STS policy lines
    std::vector<std::string> mx;       // mx-host: STS patterns, or the TLSA host
    auto operator<=>(const TlsrptPolicy&) const = default;
};

// The policy a session to `host` is under. RFC 8461 §2: where DNSSEC-valid
// usable TLSA records exist DANE applies, else an enforce or testing MTA-STS
// policy (or a published one that could not be used: type sts without a
// policy-string), else none was found. `use_sts`: the partner honours MTA-STS.
TlsrptPolicy tlsrpt_policy(std::string_view domain, const MxFacts& mx, const HostFacts& host,
                           const MtaStsFacts& sts, bool use_sts);

// One TLS session (or a refusal before connecting that a policy caused).
struct TlsrptSession {
    TlsrptPolicy policy;
    std::optional<TlsrptResult> failure;  // nullopt: successful
    std::string mx_host;                  // receiving-mx-hostname
    std::string receiving_ip;             // empty when none was reached
    std::string reason_code;              // failure-reason-code: our reason ("tlsa-mismatch")
};

// How one connection (or a refusal before connecting) ended, as the TLSRPT
// counter needs it.
struct TlsrptAttempt {
    Outcome outcome;             // judge()'s or before_connect()'s
    bool connected = false;      // false: refused before connecting
    bool starttls_tried = true;  // false: the level never asks for STARTTLS (tls: none)
    bool tls_up = false;         // the TLS handshake completed
    std::string receiving_ip;
    // The domain's MTA-STS policy could not be used (tlsrpt_sts_unusable()):
    // every session under it is a failure of that kind, whatever the delivery did.
    std::optional<TlsrptResult> policy_unusable;
};

// §4.3.2.3: the result type for a published MTA-STS policy that could not be
// fetched, parsed or authenticated (and no cached one applies); nullopt when
// a policy applies or none is published.
std::optional<TlsrptResult> tlsrpt_sts_unusable(const MtaStsFacts& sts);

// The session to count, or nullopt when there is none to report: no STARTTLS
// was ever meant (tls: none, the plaintext retry of `may`), or the outcome is
// not about TLS (connection failure, time-out). A delivery without TLS is a
// failure (starttls-not-supported): §4.4 counts only TLS sessions as successful.
// Under an MTA-STS `testing` policy what would have failed is a failure
// (RFC 8461 §5: testing policies are there to be reported).
std::optional<TlsrptSession> tlsrpt_session(const TlsrptPolicy& policy, const HostFacts& host,
                                            const TlsrptAttempt& a);

// True for our own report mail (a TLS-Report-Domain header, RFC 8460 §5.3):
// its sessions are never counted, so reports never report on reports.
bool is_tlsrpt_mail(std::string_view message);

// §4.4 failure-details: sessions are grouped by what they have in common.
struct TlsrptFailureKey {
    TlsrptResult result = TlsrptResult::ValidationFailure;
    std::string mx_host;
    std::string receiving_ip;
    std::string reason_code;
    auto operator<=>(const TlsrptFailureKey&) const = default;
};

struct TlsrptCounts {
    std::int64_t successful = 0;
    std::int64_t failed = 0;
    std::map<TlsrptFailureKey, std::int64_t> failures;
};

// The sessions of one report period [start_s, end_s) (a UTC day).
struct TlsrptPeriod {
    std::int64_t start_s = 0;
    std::int64_t end_s = 0;
    std::map<TlsrptPolicy, TlsrptCounts> policies;

    void add(const TlsrptSession& s);
    // The recipient domains that have sessions in this period, each once.
    std::vector<std::string> domains() const;
};

// The period that contains `now_s`: UTC days ([midnight, next midnight)) when
// `length_s` is 86400; other lengths (tests) are counted from the epoch likewise.
std::pair<std::int64_t, std::int64_t> tlsrpt_period_of(std::int64_t now_s, std::int64_t length_s);

// §3: the `_smtp._tls` TXT record: "v=TLSRPTv1; rua=mailto:a@x,https://r.x/p".
struct TlsrptRecord {
    std::vector<std::string> rua;  // mailto: and https: URIs, in order
    std::string error;             // when rua is empty: why there is no usable record
};
// `txt`: one string per TXT record, its character-strings joined. Records not
// starting with "v=TLSRPTv1" are ignored; exactly one must remain (§3).
TlsrptRecord parse_tlsrpt_record(const std::vector<std::string>& txt);

// The address of a "mailto:" rua (RFC 6068; %-escapes decoded, "?..." dropped);
// nullopt when it is not a single plain address.
std::optional<std::string> tlsrpt_mailto(std::string_view uri);

// An "https:" rua (RFC 8460 §5.4): host, port (default 443), and the target
// ("/path?query", default "/"); nullopt for anything else (user info, bad port).
struct HttpsUri {
    std::string host;
    std::uint16_t port = 443;
    std::string target;
};
std::optional<HttpsUri> parse_https_uri(std::string_view uri);

}  // namespace chainmail::policy
