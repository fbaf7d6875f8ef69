// probe_json: `chainmail probe --json`: one object per target, one per line.
// Beside the facts it always has "levels" (the nine, each with verdict and
// reason) and "strongest" (the strongest level that delivers, or null).
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "policy/tls_rating.hpp"
#include "relay/cli/probe.hpp"
#include "relay/deliver/host_session.hpp"

namespace chainmail::cli {

namespace {

using nlohmann::json;

std::string_view source_name(policy::HostSource s) {
    switch (s) {
        case policy::HostSource::Mx:
            return "mx";
        case policy::HostSource::Implicit:
            return "implicit";
        case policy::HostSource::NextHop:
            return "next-hop";
    }
    return "mx";
}

std::string_view sts_mode(policy::MtaStsFacts::Mode m) {
    switch (m) {
        case policy::MtaStsFacts::Mode::None:
            return "none";
        case policy::MtaStsFacts::Mode::Enforce:
            return "enforce";
        case policy::MtaStsFacts::Mode::Testing:
            return "testing";
    }
    return "none";
}

json cert_json(const tls::CertInfo& c) {
    return {{"subject", c.subject},
            {"issuer", c.issuer},
            {"dns_names", c.dns_names},
            {"not_after", c.not_after},
            {"sha256", fingerprint_text(c.cert_sha256)},
            {"spki_sha256", fingerprint_text(c.spki_sha256)}};
}

json host_json(const HostProbe& h, const TargetProbe& p) {
    const HostView v = view_of(h);
    json tlsa = {{"state", policy::to_string(h.facts.tlsa.state)},
                 {"dane_applies", policy::dane_applies(p.mx, h.facts)}};
    json records = json::array();
    for (const auto& r : h.facts.tlsa.records) {
        const bool matched = v.tlsa_matched && v.tlsa_matched->usage == r.usage &&
                             v.tlsa_matched->selector == r.selector &&
                             v.tlsa_matched->mtype == r.mtype && v.tlsa_matched->data == r.data;
        records.push_back({{"usage", r.usage},
                           {"selector", r.selector},
                           {"mtype", r.mtype},
                           {"data", hex_text(r.data)},
                           {"usable", policy::tlsa_usable(r)},
                           {"matched", matched}});
    }
    tlsa["records"] = records;
    json out = {{"name", h.facts.name},
                {"preference", h.facts.preference},
                {"port", h.facts.port},
                {"addresses", h.addresses},
                {"address_dnssec", policy::to_string(h.facts.address)},
                {"tlsa", tlsa}};
    if (!h.note.empty()) out["note"] = h.note;
    out["starttls"] = v.starttls ? json(*v.starttls) : json(nullptr);
    if (!v.greeting_error.empty()) out["error"] = v.greeting_error;
    if (v.tls) {
        const policy::TlsVersion ver = v.tls->version;
        out["tls"] = {{"version", std::string(policy::to_string(ver))},
                      {"version_rating", policy::to_string(policy::rate_version(ver))},
                      {"cipher", v.tls->cipher},
                      {"cipher_rating", policy::to_string(policy::rate_cipher(v.tls->cipher))},
                      {"group", v.tls->group},
                      {"group_rating", policy::to_string(policy::rate_group(v.tls->group))}};
    } else {
        out["tls"] = nullptr;
    }
    json chain = json::array();
    if (v.chain)
        for (const auto& c : *v.chain) chain.push_back(cert_json(c));
    out["certificates"] = chain;
    if (v.pkix_chain)
        out["pkix"] = {{"chain_valid", *v.pkix_chain},
                       {"name_valid", v.pkix_name.value_or(false)},
                       {"detail", v.pkix_detail}};
    else
        out["pkix"] = nullptr;
    return out;
}

}  // namespace

std::string probe_json(const TargetProbe& p, const resolve::DnssecSelfCheck& self) {
    json j;
    j["target"] = p.target;
    j["domain"] = p.domain;
    j["rule"] = {{"partner", p.is_default ? "defaults" : p.partner.name},
                 {"default", p.is_default},
                 {"why", p.why},
                 {"tls", policy::to_string(p.partner.tls)},
                 {"mode", policy::to_string(p.partner.mode)},
                 {"on_tls_failure", policy::to_string(p.partner.on_tls_failure)},
                 {"mta_sts", p.partner.mta_sts},
                 {"next_hop", p.partner.next_hop ? json(p.partner.next_hop->str()) : json()}};
    json mx = {{"domain", p.mx.domain},
               {"source", source_name(p.mx.source)},
               {"dnssec", policy::to_string(p.mx.state)},
               {"null_mx", p.mx.null_mx}};
    if (p.destination) mx["problem"] = p.destination->detail;
    j["mx"] = mx;
    json hosts = json::array();
    for (const HostProbe& h : p.hosts) hosts.push_back(host_json(h, p));
    j["hosts"] = hosts;
    if (p.sts_looked_up) {
        json match = json::object();
        for (const HostProbe& h : p.hosts) {
            bool ok = false;
            for (const auto& pat : p.sts.mx_patterns)
                ok = ok || policy::mx_pattern_matches(pat, h.facts.name);
            match[h.facts.name] = ok;
        }
        j["mta_sts"] = {{"mode", sts_mode(p.sts.mode)},
                        {"id", p.sts.id},
                        {"mx_patterns", p.sts.mx_patterns},
                        {"note", p.sts.note},
                        {"mx_match", match}};
    } else {
        j["mta_sts"] = nullptr;  // not consulted: mta_sts: false, or a configured next hop
    }
    j["resolver_dnssec"] = {
        {"state", resolve::to_string(self.state)}, {"name", self.name}, {"reason", self.reason}};
    json levels = json::object();
    for (const policy::LevelVerdict& v : p.levels) {
        json l = {{"verdict", policy::to_string(v.verdict)}, {"reason", v.reason_text}};
        if (v.verdict == policy::ProbeVerdict::Deliver)
            l["auth"] = policy::to_string(v.auth);
        else
            l["code"] = policy::to_string(v.reason);
        if (!v.host.empty()) l["host"] = v.host;
        levels[std::string(policy::to_string(v.level))] = l;
    }
    j["levels"] = levels;
    j["strongest"] = p.strongest ? json(policy::to_string(*p.strongest)) : json(nullptr);
    j["configured_delivers"] =
        levels[std::string(policy::to_string(p.partner.tls))]["verdict"] == "deliver";
    j["seconds"] = p.seconds;
    return j.dump() + "\n";
}

}  // namespace chainmail::cli
