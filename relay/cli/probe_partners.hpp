// probe_partners: `chainmail probe --partners`: which domains of each partner
// are probed, and the map made of the results: per partner domain what it
// offers, the strongest level that delivers, and whether the configured one
// would deliver today. As text and as one self-contained HTML page.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "relay/cli/probe.hpp"

namespace chainmail::cli {

struct PartnerTargets {
    const config::Partner* partner = nullptr;
    std::vector<std::string> probed;   // exact domains
    std::vector<std::string> skipped;  // ".x" rules: any subdomain, nothing to probe
};
std::vector<PartnerTargets> partner_targets(const config::Config& cfg);

struct PartnerRow {
    std::string partner, domain;
    std::string level, mode;  // configured
    // What the destination offers, in a few words each.
    std::string dnssec;       // "secure" | "insecure" | ...
    std::string dane;         // "all hosts" | "1 of 2 hosts" | "no" | "unusable"
    std::string mta_sts;      // "enforce" | "testing" | "none" | "not consulted"
    std::string starttls;     // "yes" | "1 of 2 hosts" | "no" | "unreachable"
    std::string tls;          // "TLSv1.3" (weakest seen over the hosts) or "-"
    std::string certificate;  // "PKIX valid" | "name mismatch" | "untrusted" | "-"
    std::optional<policy::TlsLevel> strongest;
    policy::ProbeVerdict configured = policy::ProbeVerdict::Defer;
    std::string configured_reason;
};

struct PartnerMap {
    std::vector<PartnerRow> rows;
    std::vector<std::string> skipped;  // "partner: .x.nl (subdomains: not probed)"
};

// `results` in the order of the targets made from `partners`.
PartnerMap partner_map(const config::Config& cfg, const std::vector<PartnerTargets>& partners,
                       const std::vector<TargetProbe>& results);
std::string partners_text(const PartnerMap& map, const resolve::DnssecSelfCheck& self);
std::string partners_html(const PartnerMap& map, const resolve::DnssecSelfCheck& self);

}  // namespace chainmail::cli
