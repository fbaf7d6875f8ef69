// `chainmail config`: prints the effective configuration, every default filled
// in (Postfix's `postconf` habit), as YAML that check-config accepts again. A
// key that has no value (no certificate, no metrics listener) is a comment.
#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <regex>

#include "relay/cli/cli.hpp"

namespace chainmail::cli {

namespace {

// One scalar as YAML writes it: plain when it is a simple word that every YAML
// reader takes as that same string, double-quoted otherwise ("[secure]", "",
// "yes", "0.0.0.0:25"), so that other tools read the output right as well.
std::string scalar(const std::string& s) {
    static const std::regex plain(R"([A-Za-z0-9./_][A-Za-z0-9._/-]*)");
    static const std::regex special("(?:y|n|yes|no|true|false|on|off|null)", std::regex::icase);
    if (std::regex_match(s, plain) && !std::regex_match(s, special)) return s;
    YAML::Emitter e;
    e << YAML::DoubleQuoted << s;
    return e.c_str();
}

std::string flow_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + scalar(items[i]);
    return out + "]";
}

std::string boolean(bool b) {
    return b ? "true" : "false";
}

// The largest unit that says it exactly, as an operator would write it.
std::string duration(config::Duration d) {
    const auto s = d.count();
    if (s == 0) return "0";
    if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
    if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
    if (s % 60 == 0) return fmt::format("{}m", s / 60);
    return fmt::format("{}s", s);
}

std::string size(std::uint64_t n) {
    constexpr std::uint64_t kb = 1024, mb = kb * 1024, gb = mb * 1024;
    if (n != 0 && n % gb == 0) return fmt::format("{}GB", n / gb);
    if (n != 0 && n % mb == 0) return fmt::format("{}MB", n / mb);
    if (n != 0 && n % kb == 0) return fmt::format("{}KB", n / kb);
    return std::to_string(n);
}

std::string endpoint(const config::Endpoint& e) {
    if (e.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", e.host, e.port);
    return fmt::format("{}:{}", e.host, e.port);
}

std::string fingerprint(const std::array<std::uint8_t, 32>& fp) {
    std::string s = "sha256:";
    for (std::size_t i = 0; i < fp.size(); ++i)
        s += fmt::format("{}{:02X}", i == 0 ? "" : ":", fp[i]);
    return s;
}

class Printer {
  public:
    std::string text;

    void section(const std::string& key) { text += key + ":\n"; }
    void value(int indent, const std::string& key, const std::string& v,
               const std::string& comment = "") {
        text += fmt::format("{:{}}{}: {}", "", indent, key, v);
        if (!comment.empty()) text += "   # " + comment;
        text += "\n";
    }
    // A key with no value: shown, commented out, so that the file still loads.
    void unset(int indent, const std::string& key, const std::string& meaning) {
        text += fmt::format("{:{}}# {}:   (not set: {})\n", "", indent, key, meaning);
    }

    void rule(const config::Partner& p, bool is_defaults) {
        const int in = is_defaults ? 2 : 4;
        if (!is_defaults) {
            text += fmt::format("  - name: {}\n", scalar(p.name));
            value(in, "domains", flow_list(p.domains));
        }
        value(in, "tls", scalar(std::string(policy::to_string(p.tls))));
        value(in, "mta_sts", boolean(p.mta_sts));
        value(in, "chunking", boolean(p.chunking));
        if (!is_defaults) {
            if (p.next_hop)
                value(in, "next_hop", scalar(p.next_hop->str()));
            else
                unset(in, "next_hop", "the MX of the recipient domain");
        }
        value(in, "match", flow_list(p.match),
              p.match.empty() ? "empty: the next-hop domain and its subdomains" : "");
        std::vector<std::string> fps;
        for (const auto& fp : p.fingerprints) fps.push_back(fingerprint(fp));
        value(in, "fingerprints", flow_list(fps));
        if (p.tls_min_version.empty())
            unset(in, "tls_min_version", "TLS 1.2 wherever the level requires TLS");
        else
            value(in, "tls_min_version", fmt::format("\"{}\"", p.tls_min_version));  // not a number
        value(in, "on_tls_failure", std::string(policy::to_string(p.on_tls_failure)));
        if (p.fallback_next_hop)
            value(in, "fallback_next_hop", scalar(p.fallback_next_hop->str()));
        else
            unset(in, "fallback_next_hop", "used only with on_tls_failure: reroute");
        value(in, "contact", scalar(p.contact));
        // Its effective value: printing the printed file gives the same text.
        if (!is_defaults)
            value(in, "display_name", scalar(p.display_name.empty() ? p.name : p.display_name));
        value(in, "mode", std::string(policy::to_string(p.mode)));
    }
};

}  // namespace

std::string print_config(const config::Config& c) {
    Printer p;
    p.text = fmt::format(
        "# chainmail: the effective configuration from {}, every default filled in.\n"
        "# Keys shown as comments have no value. `chainmail check-config` accepts this file.\n",
        c.source);

    p.value(0, "hostname", scalar(c.hostname));
    p.section("listen");
    for (const auto& l : c.listen) {
        p.text += fmt::format("  - address: {}\n", scalar(endpoint(l.address)));
        p.value(4, "starttls", boolean(l.starttls));
        p.value(4, "require_starttls", boolean(l.require_starttls));
        p.value(4, "auth", boolean(l.auth));
    }

    p.section("tls");
    if (c.tls.certificate.empty()) {
        p.unset(2, "certificate", "no STARTTLS offered inbound");
        p.unset(2, "private_key", "no certificate");
    } else {
        p.value(2, "certificate", scalar(c.tls.certificate));
        p.value(2, "private_key", scalar(c.tls.private_key));
    }
    p.value(2, "ca_file", scalar(c.tls.ca_file));

    p.section("relay_from");
    std::vector<std::string> nets;
    for (const auto& n : c.relay_from.networks) nets.push_back(n.str());
    p.value(2, "networks", flow_list(nets));
    p.value(2, "authenticated", boolean(c.relay_from.authenticated));

    if (c.auth.users_file.empty()) {
        p.value(0, "auth", "{}");
        p.unset(2, "users_file", "AUTH is not offered");
    } else {
        p.section("auth");
        p.value(2, "users_file", scalar(c.auth.users_file));
    }

    p.value(0, "spool", scalar(c.spool));
    p.value(0, "control_socket", scalar(c.control_socket));

    p.section("log");
    p.value(2, "level", scalar(c.log.level));
    p.value(2, "delivery_log", scalar(c.log.delivery_log), c.log.delivery_log.empty() ? "off" : "");

    p.section("dns");
    std::vector<std::string> ns;
    for (const auto& n : c.dns.nameservers)
        ns.push_back(n.port == 53 ? n.ip : fmt::format("{}@{}", n.ip, n.port));
    p.value(2, "nameservers", flow_list(ns), ns.empty() ? "empty: /etc/resolv.conf" : "");
    p.value(2, "trust_anchor_file", scalar(c.dns.trust_anchor_file));
    p.value(2, "dnssec_check_name", scalar(c.dns.dnssec_check_name));

    p.section("delivery");
    p.value(2, "port", std::to_string(c.delivery.port));
    p.value(2, "connect_timeout", duration(c.delivery.connect_timeout));
    p.value(2, "concurrency_per_destination",
            std::to_string(c.delivery.concurrency_per_destination));
    p.value(2, "initial_concurrency_per_destination",
            std::to_string(c.delivery.initial_concurrency_per_destination));
    p.value(2, "max_concurrency", std::to_string(c.delivery.max_concurrency));

    p.section("mta_sts");
    p.value(2, "port", std::to_string(c.mta_sts.port));
    p.value(2, "fetch_timeout", duration(c.mta_sts.fetch_timeout));
    p.section("queue");
    std::vector<std::string> steps;
    for (const auto& d : c.queue.retry_schedule) steps.push_back(duration(d));
    p.value(2, "retry_schedule", flow_list(steps));
    p.value(2, "max_lifetime", duration(c.queue.max_lifetime));
    p.value(2, "delay_warning_after", duration(c.queue.delay_warning_after),
            c.queue.delay_warning_after.count() == 0 ? "off" : "");

    p.section("limits");
    p.value(2, "max_message_size", size(c.limits.max_message_size));
    p.value(2, "max_recipients", std::to_string(c.limits.max_recipients));
    p.value(2, "max_connections", std::to_string(c.limits.max_connections));
    p.value(2, "max_line_length", std::to_string(c.limits.max_line_length));
    p.value(2, "command_timeout", duration(c.limits.command_timeout));
    p.value(2, "data_timeout", duration(c.limits.data_timeout));
    p.value(2, "max_errors", std::to_string(c.limits.max_errors));

    if (c.metrics.listen) {
        p.section("metrics");
        p.value(2, "listen", scalar(endpoint(*c.metrics.listen)));
    } else {
        p.value(0, "metrics", "{}");
        p.unset(2, "listen", "no metrics endpoint");
    }

    p.section("ndr");
    p.value(2, "languages", flow_list(c.ndr.languages));
    p.value(2, "return", c.ndr.return_full ? "full" : "headers");
    if (c.ndr.templates.empty())
        p.unset(2, "templates", "the shipped texts");
    else
        p.value(2, "templates", scalar(c.ndr.templates));
    p.value(2, "timezone", scalar(c.ndr.timezone.name));
    if (c.ndr.service_desk.empty())
        p.unset(2, "service_desk", "no service desk line in reports");
    else
        p.value(2, "service_desk", scalar(c.ndr.service_desk));

    p.section("tlsrpt");
    p.value(2, "enabled", boolean(c.tlsrpt.enabled),
            c.tlsrpt.enabled ? "" : "off: no TLS reports are sent");
    p.value(2, "organization", scalar(c.tlsrpt.organization));
    p.value(2, "contact", scalar(c.tlsrpt.contact));

    p.section("defaults");
    p.rule(c.defaults, true);
    if (c.partners.empty()) {
        p.value(0, "partners", "[]");
    } else {
        p.section("partners");
        for (const auto& partner : c.partners) p.rule(partner, false);
    }

    p.section("sensitive");
    p.value(2, "subject_tags", flow_list(c.sensitive.subject_tags));
    if (c.sensitive.headers.empty()) {
        p.value(2, "headers", "{}");
    } else {
        p.section("  headers");
        for (const auto& [name, values] : c.sensitive.headers)
            p.value(4, scalar(name), flow_list(values));
    }

    p.section("tls_required_header");
    std::vector<std::string> honour;
    for (const auto& n : c.tls_required_header.honour_from) honour.push_back(n.str());
    p.value(2, "honour_from", flow_list(honour));
    return p.text;
}

int cmd_config(const Common& common) {
    auto config = load(common);
    if (!config) return 1;
    fmt::print("{}", print_config(*config));
    return 0;
}

}  // namespace chainmail::cli
