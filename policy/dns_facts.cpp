#include "policy/dns_facts.hpp"

#include <cctype>

namespace chainmail::policy {
namespace {

std::string lower_no_dot(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

}  // namespace

bool tlsa_usable(const TlsaRecord& r) {
    // RFC 7672 §3.1: only DANE-TA(2) and DANE-EE(3) are usable for SMTP;
    // PKIX-TA(0) and PKIX-EE(1) MUST be treated as unusable.
    if (r.usage != 2 && r.usage != 3) return false;
    if (r.selector > 1) return false;
    switch (r.mtype) {
        case 0:
            return !r.data.empty();
        case 1:
            return r.data.size() == 32;  // RFC 7671 §4: a digest of the wrong length is unusable
        case 2:
            return r.data.size() == 64;
        default:
            return false;
    }
}

std::vector<TlsaRecord> usable_tlsa(const TlsaFacts& t) {
    std::vector<TlsaRecord> out;
    if (t.state != TlsaState::Secure) return out;
    for (const auto& r : t.records)
        if (tlsa_usable(r)) out.push_back(r);
    return out;
}

bool host_name_secure(const MxFacts& mx, const HostFacts&) {
    switch (mx.source) {
        case HostSource::Mx:
            return mx.state == DnsState::Secure;
        case HostSource::Implicit:  // the recipient domain itself: not taken from any answer
        case HostSource::NextHop:   // from the configuration
            return true;
    }
    return false;
}

bool dane_applies(const MxFacts& mx, const HostFacts& host) {
    // RFC 7672 §2.2.1, §2.2.2: TLSA records are looked up (and count) only
    // for a host whose name and addresses were obtained securely.
    return host_name_secure(mx, host) && host.address == DnsState::Secure;
}

bool mx_pattern_matches(std::string_view pattern, std::string_view host) {
    const std::string p = lower_no_dot(pattern);
    const std::string h = lower_no_dot(host);
    if (p.size() > 2 && p[0] == '*' && p[1] == '.') {
        // RFC 8461 §4.1: the wildcard matches exactly one leftmost label.
        const std::string_view suffix = std::string_view(p).substr(1);  // ".example.nl"
        if (h.size() <= suffix.size()) return false;
        if (h.compare(h.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
        const std::string_view label = std::string_view(h).substr(0, h.size() - suffix.size());
        return label.find('.') == std::string_view::npos;
    }
    return !p.empty() && p == h;
}

std::string_view to_string(DnsState s) {
    switch (s) {
        case DnsState::Secure:
            return "secure";
        case DnsState::Insecure:
            return "insecure";
        case DnsState::Bogus:
            return "bogus";
        case DnsState::TempFail:
            return "temp-fail";
        case DnsState::NotFound:
            return "not-found";
    }
    return "?";
}

std::string_view to_string(TlsaState s) {
    switch (s) {
        case TlsaState::NotApplicable:
            return "not-applicable";
        case TlsaState::Secure:
            return "secure";
        case TlsaState::SecureNoRecords:
            return "secure-no-records";
        case TlsaState::Insecure:
            return "insecure";
        case TlsaState::Bogus:
            return "bogus";
        case TlsaState::TempFail:
            return "temp-fail";
    }
    return "?";
}

}  // namespace chainmail::policy
