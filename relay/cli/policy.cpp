// policy: `chainmail policy DOMAIN...` answers, from the configuration alone,
// which partner rule applies to each domain (or address), its TLS level,
// mode, failure handling and next hop, and which rule matched.
#include <fmt/core.h>

#include "policy/partner_match.hpp"
#include "relay/cli/cli.hpp"

namespace chainmail::cli {

namespace {

void print_one(const config::Config& config, const std::string& arg) {
    const std::string domain = policy::domain_of(arg);
    const policy::PartnerMatch m = policy::match_partner(config.partners, config.defaults, domain);
    const config::Partner& p = *m.partner;
    fmt::print("{}\n", domain);
    fmt::print("  partner:         {}\n", m.is_default ? "(defaults)" : p.name);
    fmt::print("  why:             {}\n", m.why);
    fmt::print("  tls:             {}: {}\n", policy::to_string(p.tls), policy::describe(p.tls));
    if (!p.tls_min_version.empty()) fmt::print("  tls_min_version: {}\n", p.tls_min_version);
    if (p.tls == policy::TlsLevel::Secure) {
        std::string names;
        for (const auto& n : p.match) names += (names.empty() ? "" : ", ") + n;
        fmt::print("  match:           {}\n",
                   names.empty() ? "the next-hop domain and its subdomains" : names);
    }
    if (p.tls == policy::TlsLevel::Fingerprint)
        fmt::print("  fingerprints:    {}\n", p.fingerprints.size());
    fmt::print("  mta_sts:         {}\n", p.mta_sts ? "used" : "ignored");
    fmt::print("  chunking:        {}\n", p.chunking ? "BDAT when the next hop offers CHUNKING"
                                                     : "off: always DATA (chunking: false)");
    fmt::print("  mode:            {}{}\n", policy::to_string(p.mode),
               p.mode == policy::Mode::Testing
                   ? " (delivered as under may; the log records what would fail)"
                   : "");
    fmt::print("  on_tls_failure:  {}\n", policy::to_string(p.on_tls_failure));
    if (p.on_tls_failure == policy::OnTlsFailure::Reroute && p.fallback_next_hop)
        fmt::print("  fallback:        {} under secure\n", p.fallback_next_hop->str());
    if (p.next_hop)
        fmt::print("  next hop:        {}{}\n", p.next_hop->str(),
                   p.next_hop->mx_lookup ? " (its MX records)" : " (no MX lookup)");
    else
        fmt::print("  next hop:        the MX records of {}\n", domain);
    const policy::TlsLevel sensitive = policy::sensitive_level(p.tls);
    fmt::print("  sensitive mail:  {}\n", policy::to_string(sensitive));
    if (!p.contact.empty()) fmt::print("  contact:         {}\n", p.contact);
}

}  // namespace

int cmd_policy(const Common& common, const std::vector<std::string>& domains) {
    auto config = load(common);
    if (!config) return 1;
    bool first = true;
    for (const auto& d : domains) {
        if (!first) fmt::print("\n");
        first = false;
        print_one(*config, d);
    }
    return 0;
}

}  // namespace chainmail::cli
