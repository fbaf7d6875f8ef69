#include "policy/partner_match.hpp"

#include <cctype>

namespace chainmail::policy {

std::string normalize_domain(std::string_view domain) {
    std::string out;
    out.reserve(domain.size());
    for (char c : domain)
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    while (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

std::string domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    return normalize_domain(at == std::string_view::npos ? address : address.substr(at + 1));
}

PartnerMatch match_partner(const std::vector<Partner>& partners, const Partner& defaults,
                           std::string_view domain) {
    const std::string d = normalize_domain(domain);
    const Partner* best = nullptr;
    std::string best_rule;
    bool best_exact = false;
    for (const auto& partner : partners) {
        for (const auto& raw : partner.domains) {
            const std::string rule = normalize_domain(raw);
            if (rule.empty()) continue;
            if (rule[0] != '.') {
                if (rule == d && !best_exact) {
                    best = &partner;
                    best_rule = rule;
                    best_exact = true;  // an exact rule beats every wildcard
                }
                continue;
            }
            // ".sub" covers every proper subdomain of sub, not sub itself.
            if (best_exact || d.size() <= rule.size()) continue;
            if (d.compare(d.size() - rule.size(), rule.size(), rule) != 0) continue;
            if (!best || rule.size() > best_rule.size()) {
                best = &partner;
                best_rule = rule;
            }
        }
    }
    PartnerMatch m;
    if (!best) {
        m.partner = &defaults;
        m.why = "no partner rule matches " + d + ": the defaults apply";
        return m;
    }
    m.partner = best;
    m.is_default = false;
    m.rule = best_rule;
    m.why = "matched domain rule " + best_rule + " of partner " + best->name;
    return m;
}

TlsLevel sensitive_level(TlsLevel level) {
    switch (level) {
        case TlsLevel::Fingerprint:  // pinned: stronger than any DNS-derived name
        case TlsLevel::Secure:       // names from the configuration, PKIX-verified
        case TlsLevel::DaneOnly:
        case TlsLevel::Authenticated:
            return level;
        case TlsLevel::None:
        case TlsLevel::May:
        case TlsLevel::Encrypt:
        case TlsLevel::Verify:  // trusts an MX name that may come from insecure DNS
        case TlsLevel::Dane:    // falls back to `may` without TLSA
            return TlsLevel::Authenticated;
    }
    return TlsLevel::Authenticated;
}

Partner sensitive_partner(const Partner& partner) {
    Partner p = partner;
    p.tls = sensitive_level(partner.tls);
    p.mode = Mode::Enforce;
    return p;
}

Partner tls_optional_partner(const Partner& partner) {
    Partner p = partner;
    p.mta_sts = false;
    switch (partner.tls) {
        case TlsLevel::Dane:  // opportunistic DANE is the recipient's policy, not ours
            p.tls = TlsLevel::May;
            break;
        case TlsLevel::None:
        case TlsLevel::May:
        case TlsLevel::Encrypt:
        case TlsLevel::Fingerprint:
        case TlsLevel::Verify:
        case TlsLevel::Secure:
        case TlsLevel::DaneOnly:
        case TlsLevel::Authenticated:
            break;
    }
    return p;
}

Partner reroute_partner(const Partner& partner) {
    Partner p = partner;
    p.tls = TlsLevel::Secure;
    p.mode = Mode::Enforce;
    p.next_hop = partner.fallback_next_hop;
    p.fallback_next_hop.reset();
    p.on_tls_failure = OnTlsFailure::Defer;
    return p;
}

}  // namespace chainmail::policy
