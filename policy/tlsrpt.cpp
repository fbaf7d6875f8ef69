#include "policy/tlsrpt.hpp"

#include "policy/mta_sts.hpp"
#include "policy/smtp_codec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <utility>

namespace chainmail::policy {

namespace {

constexpr std::array<std::pair<TlsrptResult, std::string_view>, 11> kResults{{
    {TlsrptResult::StarttlsNotSupported, "starttls-not-supported"},
    {TlsrptResult::CertificateHostMismatch, "certificate-host-mismatch"},
    {TlsrptResult::CertificateExpired, "certificate-expired"},
    {TlsrptResult::CertificateNotTrusted, "certificate-not-trusted"},
    {TlsrptResult::ValidationFailure, "validation-failure"},
    {TlsrptResult::TlsaInvalid, "tlsa-invalid"},
    {TlsrptResult::DnssecInvalid, "dnssec-invalid"},
    {TlsrptResult::DaneRequired, "dane-required"},
    {TlsrptResult::StsPolicyFetchError, "sts-policy-fetch-error"},
    {TlsrptResult::StsPolicyInvalid, "sts-policy-invalid"},
    {TlsrptResult::StsWebpkiInvalid, "sts-webpki-invalid"},
}};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = s.find(sep, start);
        out.push_back(trim(s.substr(start, at - start)));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

std::string tlsa_text(const TlsaRecord& r) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string s = std::to_string(r.usage) + " " + std::to_string(r.selector) + " " +
                    std::to_string(r.mtype) + " ";
    for (std::uint8_t b : r.data) {
        s += kHex[b >> 4];
        s += kHex[b & 15];
    }
    return s;
}

}  // namespace

std::string_view to_string(TlsrptPolicyType t) {
    switch (t) {
        case TlsrptPolicyType::Tlsa:
            return "tlsa";
        case TlsrptPolicyType::Sts:
            return "sts";
        case TlsrptPolicyType::NoPolicyFound:
            return "no-policy-found";
    }
    return "no-policy-found";
}

std::string_view to_string(TlsrptResult r) {
    for (const auto& [k, v] : kResults)
        if (k == r) return v;
    return "validation-failure";
}

std::optional<TlsrptPolicyType> parse_tlsrpt_policy_type(std::string_view s) {
    for (auto t : {TlsrptPolicyType::Tlsa, TlsrptPolicyType::Sts, TlsrptPolicyType::NoPolicyFound})
        if (to_string(t) == s) return t;
    return std::nullopt;
}

std::optional<TlsrptResult> parse_tlsrpt_result(std::string_view s) {
    for (const auto& [k, v] : kResults)
        if (v == s) return k;
    return std::nullopt;
}

std::optional<TlsrptResult> tlsrpt_result(Reason r, std::string_view detail) {
    switch (r) {
        // §4.3.2.1 negotiation failures.
        case Reason::StartTlsNotOffered:
        case Reason::StartTlsRefused:
            return TlsrptResult::StarttlsNotSupported;
        case Reason::CertificateName:
            return TlsrptResult::CertificateHostMismatch;
        case Reason::CertificateChain:
            return ascii_lower(detail).find("expired") != std::string::npos
                       ? TlsrptResult::CertificateExpired
                       : TlsrptResult::CertificateNotTrusted;
        // "validation-failure: general failure for a reason not matching a
        // category above" — a failed handshake, an old protocol version, a
        // certificate matching none of the TLSA records or not among the
        // pinned ones, an MX outside the MTA-STS patterns.
        case Reason::HandshakeFailed:
        case Reason::TlsVersionTooLow:
        case Reason::FingerprintMismatch:
        case Reason::TlsaMismatch:
        case Reason::MtaStsMxMismatch:
            return TlsrptResult::ValidationFailure;
        // §4.3.2.2: DANE was required but no DNSSEC-validated TLSA records exist.
        case Reason::NoUsableTlsa:
        case Reason::NoDnssec:
            return TlsrptResult::DaneRequired;
        // "dnssec-invalid: no valid records were returned from the recursive resolver".
        case Reason::DnssecBogus:
            return TlsrptResult::DnssecInvalid;
        case Reason::RequireTlsNotOffered:
        case Reason::RequireTlsUnauthenticated:
        case Reason::None:
        case Reason::DnsTempFail:
        case Reason::ConnectFailed:
        case Reason::NoAddress:
        case Reason::Unknown:
        case Reason::NullMx:
        case Reason::NoSuchDomain:
        case Reason::Expired:
        case Reason::Cancelled:
            return std::nullopt;
    }
    return std::nullopt;
}

TlsrptPolicy tlsrpt_policy(std::string_view domain, const MxFacts& mx, const HostFacts& host,
                           const MtaStsFacts& sts, bool use_sts) {
    TlsrptPolicy p;
    p.domain = ascii_lower(domain);
    const auto tlsa = usable_tlsa(host.tlsa);
    if (dane_applies(mx, host) && !tlsa.empty()) {
        p.type = TlsrptPolicyType::Tlsa;
        for (const auto& r : tlsa) p.strings.push_back(tlsa_text(r));
        p.mx.push_back(host.name);
        return p;
    }
    if (use_sts && sts.mode != MtaStsFacts::Mode::None) {
        // §4.4: the policy as fetched, one string per line (RFC 8461 §3.2).
        p.type = TlsrptPolicyType::Sts;
        p.strings.push_back("version: STSv1");
        p.strings.push_back("mode: " + std::string(to_string(sts.mode)));
        for (const auto& m : sts.mx_patterns) p.strings.push_back("mx: " + m);
        p.strings.push_back("max_age: " + std::to_string(sts.max_age));
        p.mx = sts.mx_patterns;
        return p;
    }
    if (use_sts && tlsrpt_sts_unusable(sts)) p.type = TlsrptPolicyType::Sts;
    return p;
}

std::optional<TlsrptResult> tlsrpt_sts_unusable(const MtaStsFacts& sts) {
    if (sts.mode != MtaStsFacts::Mode::None) return std::nullopt;
    switch (sts.unusable) {
        case MtaStsFacts::Unusable::No:
            return std::nullopt;
        case MtaStsFacts::Unusable::FetchError:
            return TlsrptResult::StsPolicyFetchError;
        case MtaStsFacts::Unusable::Invalid:
            return TlsrptResult::StsPolicyInvalid;
        case MtaStsFacts::Unusable::WebpkiInvalid:
            return TlsrptResult::StsWebpkiInvalid;
    }
    return std::nullopt;
}

std::optional<TlsrptSession> tlsrpt_session(const TlsrptPolicy& policy, const HostFacts& host,
                                            const TlsrptAttempt& a) {
    if (!a.starttls_tried) return std::nullopt;
    TlsrptSession s;
    s.policy = policy;
    s.mx_host = host.name;
    s.receiving_ip = a.receiving_ip;
    const Outcome& o = a.outcome;
    if (policy.type == TlsrptPolicyType::Sts && a.policy_unusable) {
        s.failure = a.policy_unusable;
        s.reason_code = std::string(to_string(*a.policy_unusable));
        return s;
    }
    switch (o.verdict) {
        case Verdict::Deliver:
            if (!a.tls_up) {
                s.failure = TlsrptResult::StarttlsNotSupported;
                s.reason_code = std::string(to_string(Reason::StartTlsNotOffered));
                return s;
            }
            if (o.would_fail && policy.type == TlsrptPolicyType::Sts) {
                if (auto r = tlsrpt_result(*o.would_fail, o.would_fail_detail)) {
                    s.failure = r;
                    s.reason_code = std::string(to_string(*o.would_fail));
                }
            }
            return s;
        case Verdict::RetryWithoutTls:
        case Verdict::TlsFailure:
        case Verdict::TempFail:
        case Verdict::PermFail:
            break;
    }
    const auto r = tlsrpt_result(o.reason, o.detail);
    if (!r) return std::nullopt;
    s.failure = r;
    s.reason_code = std::string(to_string(o.reason));
    return s;
}

bool is_tlsrpt_mail(std::string_view message) {
    constexpr std::string_view kName = "tls-report-domain:";
    std::size_t at = 0;
    while (at < message.size()) {
        const std::size_t eol = message.find('\n', at);
        std::string_view line = message.substr(at, eol == std::string_view::npos ? eol : eol - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) return false;  // the end of the header section
        if (line.size() >= kName.size() && ascii_lower(line.substr(0, kName.size())) == kName)
            return true;
        if (eol == std::string_view::npos) return false;
        at = eol + 1;
    }
    return false;
}

void TlsrptPeriod::add(const TlsrptSession& s) {
    TlsrptCounts& c = policies[s.policy];
    if (!s.failure) {
        ++c.successful;
        return;
    }
    ++c.failed;
    ++c.failures[TlsrptFailureKey{*s.failure, s.mx_host, s.receiving_ip, s.reason_code}];
}

std::vector<std::string> TlsrptPeriod::domains() const {
    std::set<std::string> seen;
    for (const auto& [p, _] : policies) seen.insert(p.domain);
    return {seen.begin(), seen.end()};
}

std::pair<std::int64_t, std::int64_t> tlsrpt_period_of(std::int64_t now_s, std::int64_t length_s) {
    if (length_s <= 0) length_s = 86400;
    std::int64_t start = now_s - now_s % length_s;
    if (now_s < 0 && now_s % length_s) start -= length_s;
    return {start, start + length_s};
}

TlsrptRecord parse_tlsrpt_record(const std::vector<std::string>& txt) {
    TlsrptRecord out;
    std::vector<std::string_view> ours;
    for (const auto& t : txt) {
        const std::string_view v = trim(t);
        // §3: "v=TLSRPTv1" followed by a field delimiter.
        if (v.substr(0, 10) == "v=TLSRPTv1" && trim(v.substr(10)).substr(0, 1) == ";")
            ours.push_back(v);
    }
    if (ours.empty()) {
        out.error = "no v=TLSRPTv1 record";
        return out;
    }
    if (ours.size() > 1) {
        out.error = std::to_string(ours.size()) + " v=TLSRPTv1 records";
        return out;
    }
    bool seen_rua = false;
    const auto fields = split(ours.front(), ';');
    for (std::size_t i = 1; i < fields.size(); ++i) {
        const std::string_view f = fields[i];
        if (f.empty()) continue;  // the optional trailing delimiter
        const std::size_t eq = f.find('=');
        if (eq == std::string_view::npos) {
            out.error = "field '" + std::string(f) + "' has no value";
            out.rua.clear();
            return out;
        }
        if (f.substr(0, eq) != "rua") continue;  // extensions are ignored
        if (seen_rua) {
            out.error = "rua appears twice";
            out.rua.clear();
            return out;
        }
        seen_rua = true;
        for (std::string_view uri : split(f.substr(eq + 1), ',')) {
            const std::string l = ascii_lower(uri.substr(0, 8));
            if (l.rfind("mailto:", 0) == 0 || l.rfind("https://", 0) == 0)
                out.rua.emplace_back(uri);
        }
    }
    if (!seen_rua)
        out.error = "the record has no rua";
    else if (out.rua.empty())
        out.error = "rua names no mailto: or https: address";
    return out;
}

std::optional<std::string> tlsrpt_mailto(std::string_view uri) {
    if (ascii_lower(uri.substr(0, 7)) != "mailto:") return std::nullopt;
    std::string_view rest = uri.substr(7);
    rest = rest.substr(0, rest.find('?'));
    std::string addr;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '%' && i + 2 < rest.size() &&
            std::isxdigit(static_cast<unsigned char>(rest[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(rest[i + 2]))) {
            addr += static_cast<char>(std::stoi(std::string(rest.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            addr += rest[i];
        }
    }
    const std::size_t at = addr.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == addr.size() ||
        addr.find('@', at + 1) != std::string::npos ||
        addr.find_first_of(" ,<>\"\r\n\t") != std::string::npos)
        return std::nullopt;
    return addr;
}

std::optional<HttpsUri> parse_https_uri(std::string_view uri) {
    if (ascii_lower(uri.substr(0, 8)) != "https://") return std::nullopt;
    std::string_view rest = uri.substr(8);
    const std::size_t slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    HttpsUri out;
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (const std::size_t hash = out.target.find('#'); hash != std::string::npos)
        out.target.erase(hash);
    if (out.target.empty() || out.target.front() != '/') out.target = "/" + out.target;
    if (authority.find('@') != std::string_view::npos || authority.empty()) return std::nullopt;
    if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        if (port.empty() || port.size() > 5) return std::nullopt;
        unsigned value = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return std::nullopt;
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(value);
        authority = authority.substr(0, colon);
    }
    if (authority.empty()) return std::nullopt;
    for (char c : authority)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'))
            return std::nullopt;
    out.host = ascii_lower(authority);
    return out;
}

}  // namespace chainmail::policy
