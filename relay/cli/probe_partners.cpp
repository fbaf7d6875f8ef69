#include "relay/cli/probe_partners.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace chainmail::cli {

std::vector<PartnerTargets> partner_targets(const config::Config& cfg) {
    std::vector<PartnerTargets> out;
    for (const config::Partner& p : cfg.partners) {
        PartnerTargets t;
        t.partner = &p;
        for (const std::string& d : p.domains) {
            if (!d.empty() && d.front() == '.')
                t.skipped.push_back(d);
            else
                t.probed.push_back(d);
        }
        out.push_back(std::move(t));
    }
    return out;
}

namespace {

std::string of_hosts(std::size_t yes, std::size_t n, const char* all, const char* none) {
    if (n == 0) return "-";
    if (yes == n) return all;
    if (yes == 0) return none;
    return fmt::format("{} of {} hosts", yes, n);
}

PartnerRow row_of(const config::Partner& partner, const TargetProbe& p) {
    PartnerRow r;
    r.partner = partner.name;
    r.domain = p.domain;
    r.level = policy::to_string(partner.tls);
    r.mode = policy::to_string(partner.mode);
    r.dnssec = policy::to_string(p.mx.state);
    std::size_t usable = 0, tlsa_any = 0, reached = 0, starttls = 0, pkix_ok = 0, pkix_seen = 0;
    std::optional<policy::TlsVersion> weakest;
    std::string cert_problem;
    for (const HostProbe& h : p.hosts) {
        if (!policy::usable_tlsa(h.facts.tlsa).empty() && policy::dane_applies(p.mx, h.facts))
            ++usable;
        if (!h.facts.tlsa.records.empty()) ++tlsa_any;
        const HostView v = view_of(h);
        if (v.starttls) {
            ++reached;
            if (*v.starttls) ++starttls;
        }
        // policy::TlsVersion sorts by age: Tls10 < Tls11 < Tls12 < Tls13.
        if (v.tls && v.tls->version != policy::TlsVersion::Unknown &&
            (!weakest || v.tls->version < *weakest))
            weakest = v.tls->version;
        if (v.pkix_chain) {
            ++pkix_seen;
            if (*v.pkix_chain && v.pkix_name.value_or(false))
                ++pkix_ok;
            else if (cert_problem.empty())
                cert_problem = !*v.pkix_chain ? "untrusted" : "name mismatch";
        }
    }
    const std::size_t n = p.hosts.size();
    r.dane = usable ? of_hosts(usable, n, "all hosts", "no") : tlsa_any ? "unusable" : "no";
    if (!p.sts_looked_up) {
        r.mta_sts = "off";  // mta_sts: false, or a configured next hop
    } else {
        switch (p.sts.mode) {
            case policy::MtaStsFacts::Mode::None:
                r.mta_sts = "none";
                break;
            case policy::MtaStsFacts::Mode::Enforce:
                r.mta_sts = "enforce";
                break;
            case policy::MtaStsFacts::Mode::Testing:
                r.mta_sts = "testing";
                break;
        }
    }
    r.starttls = reached == 0 ? "unreachable" : of_hosts(starttls, reached, "yes", "no");
    r.tls = weakest ? std::string(policy::to_string(*weakest)) : "-";
    // Returned, not assigned piecewise: g++ 12 -Wrestrict misfires on the latter.
    r.certificate = [&]() -> std::string {
        if (pkix_seen == 0) return "-";
        if (pkix_ok == pkix_seen) return "PKIX valid";
        if (pkix_ok == 0) return cert_problem;
        return fmt::format("{} ({} of {})", cert_problem, pkix_seen - pkix_ok, pkix_seen);
    }();
    r.strongest = p.strongest;
    for (const policy::LevelVerdict& v : p.levels)
        if (v.level == partner.tls) {
            r.configured = v.verdict;
            r.configured_reason = v.reason_text;
        }
    return r;
}

}  // namespace

PartnerMap partner_map(const config::Config&, const std::vector<PartnerTargets>& partners,
                       const std::vector<TargetProbe>& results) {
    PartnerMap map;
    std::size_t k = 0;
    for (const PartnerTargets& t : partners) {
        for (std::size_t i = 0; i < t.probed.size() && k < results.size(); ++i)
            map.rows.push_back(row_of(*t.partner, results[k++]));
        for (const std::string& s : t.skipped)
            map.skipped.push_back(fmt::format("{}: {} (every subdomain: no single domain to probe)",
                                              t.partner->name, s));
    }
    return map;
}

std::string partners_text(const PartnerMap& map, const resolve::DnssecSelfCheck& self) {
    std::string o = fmt::format("DNSSEC: {}\n\n", selfcheck_text(self));
    const std::vector<std::string> head{"partner", "domain", "level",     "mode",
                                        "DNSSEC",  "DANE",   "MTA-STS",   "STARTTLS",
                                        "TLS",     "cert",   "strongest", "configured"};
    std::vector<std::vector<std::string>> rows{head};
    for (const PartnerRow& r : map.rows)
        rows.push_back({r.partner, r.domain, r.level, r.mode, r.dnssec, r.dane, r.mta_sts,
                        r.starttls, r.tls, r.certificate,
                        r.strongest ? std::string(policy::to_string(*r.strongest)) : "none",
                        r.configured == policy::ProbeVerdict::Deliver
                            ? "delivers"
                            : fmt::format("would {}", policy::to_string(r.configured))});
    std::vector<std::size_t> width(head.size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c)
            line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], width[c]);
        o += line + "\n";
    }
    bool any = false;
    for (const PartnerRow& r : map.rows) {
        if (r.configured == policy::ProbeVerdict::Deliver) continue;
        if (!any) o += "\nwhere the configured level would not deliver today:\n";
        any = true;
        o += fmt::format("  {} / {} ({}): {}\n", r.partner, r.domain, r.level, r.configured_reason);
    }
    for (const std::string& s : map.skipped) o += fmt::format("not probed: {}\n", s);
    return o;
}

}  // namespace chainmail::cli
