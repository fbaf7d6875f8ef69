// probe_text: `chainmail probe` for people: the rule, the MX set, per host
// what it offers, the MTA-STS policy, then one line per level and the
// strongest level that would deliver.
#include <fmt/core.h>

#include "policy/tls_rating.hpp"
#include "relay/cli/probe.hpp"
#include "relay/deliver/host_session.hpp"

namespace chainmail::cli {

std::string fingerprint_text(const std::array<std::uint8_t, 32>& fp) {
    std::string s = "sha256:";  // the `fingerprints` format of the configuration
    for (std::size_t i = 0; i < fp.size(); ++i) s += fmt::format("{}{:02X}", i ? ":" : "", fp[i]);
    return s;
}

std::string hex_text(const std::vector<std::uint8_t>& data) {
    std::string s;
    for (auto b : data) s += fmt::format("{:02x}", b);
    return s;
}

namespace {

bool offered(const deliver::SessionFacts& f) {
    return f.extensions.starttls || f.tls.has_value() || f.starttls_refused;
}

}  // namespace

HostView view_of(const HostProbe& h) {
    HostView v;
    auto each = [&](auto&& fn) {
        for (const ProbeSession& s : h.sessions) {
            if (s.before_retry) fn(s, *s.before_retry);
            fn(s, s.facts);
        }
    };
    each([&](const ProbeSession&, const deliver::SessionFacts& f) {
        if (!f.greeting.positive()) {
            if (v.greeting_error.empty()) v.greeting_error = f.result.text;
            return;
        }
        v.starttls = v.starttls.value_or(false) || offered(f);
    });
    if (v.starttls) v.greeting_error.clear();
    // The handshake shown: one under a level that requires TLS (the NCSC
    // cipher list) when there is one, else the opportunistic one.
    for (int pass = 0; pass < 2 && !v.tls; ++pass)
        each([&](const ProbeSession& s, const deliver::SessionFacts& f) {
            if (!v.tls && f.tls_up && f.tls && (pass == 1 || s.required)) v.tls = &*f.tls;
        });
    each([&](const ProbeSession& s, const deliver::SessionFacts& f) {
        if (!f.tls) return;
        if (!v.chain && !f.tls->chain.empty()) v.chain = &f.tls->chain;
        if (!v.tlsa_matched && f.tls->dane_matched) v.tlsa_matched = f.tls->dane_matched;
        const bool verify_session =
            (s.verified.check.auth == policy::AuthMethod::Pkix ||
             s.verified.check.auth == policy::AuthMethod::MtaSts) &&
            s.verified.check.names == std::vector<std::string>{h.facts.name};
        if (verify_session && !v.pkix_chain && f.tls_up) {
            v.pkix_chain = f.tls->chain_ok;
            v.pkix_name = f.tls->name_ok;
            v.pkix_detail = f.tls->result == tls::VerifyResult::Ok ? "" : f.tls->detail;
        }
    });
    return v;
}

std::string selfcheck_text(const resolve::DnssecSelfCheck& self) {
    switch (self.state) {
        case resolve::DnssecSelfCheck::State::Ok:
            return fmt::format("our resolver validates DNSSEC ({} is secure)", self.name);
        case resolve::DnssecSelfCheck::State::Disabled:
            return "DNSSEC validation is off (dns.trust_anchor_file is empty): nothing can be "
                   "DNSSEC-secure, so DANE never applies";
        case resolve::DnssecSelfCheck::State::Failed:
            return "our resolver does NOT validate DNSSEC: " + self.reason;
        case resolve::DnssecSelfCheck::State::NotRun:
            return "the DNSSEC self-check did not run";
    }
    return {};
}

std::string probe_text(const TargetProbe& p) {
    std::string o;
    auto line = [&](const std::string& s) { o += s + "\n"; };
    line(p.target == p.domain ? p.domain : p.target + " (" + p.domain + ")");
    line(fmt::format("  rule:      {} — tls {}, mode {}, on_tls_failure {}{}",
                     p.is_default ? "defaults" : "partner " + p.partner.name,
                     policy::to_string(p.partner.tls), policy::to_string(p.partner.mode),
                     policy::to_string(p.partner.on_tls_failure),
                     p.partner.mta_sts ? "" : ", mta_sts off"));
    std::string source;
    switch (p.mx.source) {
        case policy::HostSource::Mx:
            source = "MX records of " + p.mx.domain;
            break;
        case policy::HostSource::Implicit:
            source = "no MX records: the domain's own address";
            break;
        case policy::HostSource::NextHop:
            source = "configured next hop, no MX lookup";
            break;
    }
    line(fmt::format("  mx:        {} (DNSSEC {})", source, policy::to_string(p.mx.state)));
    if (p.destination) line("             " + p.destination->detail);
    for (const HostProbe& h : p.hosts) {
        const HostView v = view_of(h);
        std::string addrs;
        for (const auto& a : h.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
        line(fmt::format("  host {} (preference {}, port {})", h.facts.name, h.facts.preference,
                         h.facts.port));
        line(fmt::format("    address: {} (DNSSEC {}){}", addrs.empty() ? "none" : addrs,
                         policy::to_string(h.facts.address), h.note.empty() ? "" : ": " + h.note));
        std::string tlsa(policy::to_string(h.facts.tlsa.state));
        if (!policy::dane_applies(p.mx, h.facts))
            tlsa = "not applicable (name or address not DNSSEC-secure)";
        line("    TLSA:    " + tlsa);
        for (const auto& r : h.facts.tlsa.records) {
            const bool matched = v.tlsa_matched && v.tlsa_matched->usage == r.usage &&
                                 v.tlsa_matched->selector == r.selector &&
                                 v.tlsa_matched->mtype == r.mtype && v.tlsa_matched->data == r.data;
            line(fmt::format("             {} {} {} {}{}{}", r.usage, r.selector, r.mtype,
                             hex_text(r.data).substr(0, 32),
                             policy::tlsa_usable(r) ? "" : "  (unusable)",
                             matched ? "  (matched)" : ""));
        }
        if (!v.starttls) {
            line("    SMTP:    " + (v.greeting_error.empty() ? "not tried" : v.greeting_error));
            continue;
        }
        line(fmt::format("    STARTTLS: {}", *v.starttls ? "offered" : "NOT offered"));
        if (v.tls) {
            const policy::TlsVersion ver = v.tls->version;
            line(fmt::format("    TLS:     {} ({}), {} ({}), group {} ({})", policy::to_string(ver),
                             policy::to_string(policy::rate_version(ver)), v.tls->cipher,
                             policy::to_string(policy::rate_cipher(v.tls->cipher)),
                             v.tls->group.empty() ? "?" : v.tls->group,
                             policy::to_string(policy::rate_group(v.tls->group))));
        }
        if (v.pkix_chain)
            line(fmt::format("    PKIX:    chain {}, name {}{}",
                             *v.pkix_chain ? "trusted (tls.ca_file)" : "NOT trusted",
                             v.pkix_name.value_or(false) ? "matches " + h.facts.name
                                                         : "does NOT match " + h.facts.name,
                             v.pkix_detail.empty() ? "" : " — " + v.pkix_detail));
        if (v.chain) {
            for (std::size_t i = 0; i < v.chain->size(); ++i) {
                const tls::CertInfo& c = (*v.chain)[i];
                line(fmt::format("    cert {}:  {}", i, c.subject));
                if (!c.dns_names.empty()) {
                    std::string names;
                    for (const auto& n : c.dns_names) names += (names.empty() ? "" : ", ") + n;
                    line("             names   " + names);
                }
                line("             issuer  " + c.issuer);
                line("             expires " + c.not_after);
                if (i == 0) {
                    line("             cert    " + fingerprint_text(c.cert_sha256));
                    line("             key     " + fingerprint_text(c.spki_sha256));
                }
            }
        }
    }
    if (p.sts_looked_up) {
        switch (p.sts.mode) {
            case policy::MtaStsFacts::Mode::None:
                line("  MTA-STS:   none" + (p.sts.note.empty() ? "" : " (" + p.sts.note + ")"));
                break;
            case policy::MtaStsFacts::Mode::Enforce:
            case policy::MtaStsFacts::Mode::Testing: {
                std::string pats;
                for (const auto& s : p.sts.mx_patterns) pats += (pats.empty() ? "" : ", ") + s;
                line(fmt::format(
                    "  MTA-STS:   {} policy (id {}), mx: {}",
                    p.sts.mode == policy::MtaStsFacts::Mode::Enforce ? "enforce" : "testing",
                    p.sts.id, pats));
                for (const HostProbe& h : p.hosts) {
                    bool ok = false;
                    for (const auto& pat : p.sts.mx_patterns)
                        ok = ok || policy::mx_pattern_matches(pat, h.facts.name);
                    line(fmt::format("             {} {}", h.facts.name,
                                     ok ? "matches the policy" : "is NOT in the policy"));
                }
                break;
            }
        }
    } else {
        line("  MTA-STS:   not consulted (mta_sts: false or a configured next hop)");
    }
    line("  levels:");
    for (const policy::LevelVerdict& v : p.levels) {
        std::string verdict;
        switch (v.verdict) {
            case policy::ProbeVerdict::Deliver:
                verdict = "would deliver";
                break;
            case policy::ProbeVerdict::Fail:
                verdict = "would fail";
                break;
            case policy::ProbeVerdict::Defer:
                verdict = "would defer";
                break;
        }
        const bool configured = v.level == p.partner.tls;
        line(fmt::format("  {} {:<14} {:<14} {}", configured ? "*" : " ",
                         policy::to_string(v.level), verdict, v.reason_text));
    }
    line(fmt::format("  strongest level that would deliver: {}",
                     p.strongest ? std::string(policy::to_string(*p.strongest)) : "none"));
    return o;
}

}  // namespace chainmail::cli
