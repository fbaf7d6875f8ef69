// config_load: walks the YAML tree into Config, one section at a time. Every
// problem becomes a ConfigError with the file, line and column of the key or
// value at fault; the walk goes on after an error so all of them are reported.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <tuple>

#include "config/config.hpp"
#include "config/config_reader.hpp"
#include "config/config_walk.hpp"

namespace chainmail::config {
namespace {

using detail::Field;
using detail::find;

// The schema of the product's configuration, section by section.
class Walker : public detail::Reader {
  public:
    using Reader::Reader;
    Config walk(const YAML::Node& root);

  private:
    void listeners(const Field& f, Config& c);
    void networks(const Field& f, std::vector<Cidr>& out);
    void rule(const Field& f, Partner& p, bool is_defaults);
    void simple_sections(const std::vector<Field>& top, Config& c);
    void policy_sections(const std::vector<Field>& top, Config& c);
};

void Walker::listeners(const Field& f, Config& c) {
    c.listen.clear();
    for (const auto& item : items(f)) {
        Listener l;
        l.where = at(item);
        auto fs = fields(item, {"address", "starttls", "require_starttls", "auth"});
        if (auto* a = find(fs, "address")) {
            if (auto e = ip_endpoint(*a)) l.address = *e;
        } else if (item.value.IsMap()) {
            error(item, "missing 'address', e.g. address: \"0.0.0.0:25\"");
        }
        if (auto* v = find(fs, "starttls")) boolean(*v, l.starttls);
        if (auto* v = find(fs, "require_starttls")) boolean(*v, l.require_starttls);
        if (auto* v = find(fs, "auth")) boolean(*v, l.auth);
        c.listen.push_back(std::move(l));
    }
    if (c.listen.empty() && f.value.IsSequence()) error(f, "at least one listener is needed");
}

// A list of networks (relay_from.networks, tls_required_header.honour_from).
void Walker::networks(const Field& f, std::vector<Cidr>& out) {
    out.clear();
    std::string s;
    for (const auto& e : items(f)) {
        if (!str(e, s)) continue;
        if (auto n = parse_cidr(s))
            out.push_back(*n);
        else
            error(e, "bad network '" + s +
                         "': expected ADDRESS/PREFIX with no host bits set, e.g. "
                         "10.0.0.0/8 or 2001:db8::/32, or a single address");
    }
}

// A partner, or the defaults block (same keys, less name/domains/next_hop).
void Walker::rule(const Field& f, Partner& p, bool is_defaults) {
    p.where = at(f);
    auto fs = fields(f, {"name", "domains", "tls", "mta_sts", "chunking", "next_hop", "match",
                         "fingerprints", "tls_min_version", "on_tls_failure", "fallback_next_hop",
                         "contact", "display_name", "mode"});
    for (const auto& v : fs) {
        const std::string& k = v.key.Scalar();
        if (is_defaults &&
            (k == "name" || k == "domains" || k == "next_hop" || k == "display_name")) {
            error(at(v.key), v.path +
                                 ": not allowed in defaults, which apply to every destination "
                                 "that no partner matches; use a partner for this");
            continue;
        }
        std::string s;
        if (k == "name") {
            if (str(v, s)) {
                if (s.empty()) error(v, "a partner name may not be empty");
                p.name = s;
            }
        } else if (k == "domains") {
            p.domains = domains(v, true);
            if (v.value.IsSequence() && v.value.size() == 0)
                error(v, "a partner needs at least one domain");
        } else if (k == "tls") {
            if (str(v, s)) {
                if (auto l = policy::parse_tls_level(s))
                    p.tls = *l;
                else
                    error(v, "unknown TLS level '" + s +
                                 "': expected one of none, may, encrypt, fingerprint, verify, "
                                 "secure, dane, dane-only, authenticated");
            }
        } else if (k == "mta_sts") {
            boolean(v, p.mta_sts);
        } else if (k == "chunking") {
            boolean(v, p.chunking);
        } else if (k == "next_hop") {
            p.next_hop = next_hop(v);
        } else if (k == "match") {
            p.match = domains(v, true);
        } else if (k == "fingerprints") {
            p.fingerprints.clear();
            for (const auto& e : items(v)) {
                if (!str(e, s)) continue;
                if (auto fp = parse_fingerprint(s))
                    p.fingerprints.push_back(*fp);
                else
                    error(e, "bad fingerprint '" + s +
                                 "': expected sha256: then 64 hex digits, colons between pairs "
                                 "optional");
            }
        } else if (k == "tls_min_version") {
            one_of(v, {"1.0", "1.1", "1.2", "1.3"}, p.tls_min_version);
        } else if (k == "on_tls_failure") {
            if (str(v, s)) {
                if (auto o = policy::parse_on_tls_failure(s))
                    p.on_tls_failure = *o;
                else
                    error(v, "unknown value '" + s +
                                 "': expected one of bounce, defer, hold, reroute");
            }
        } else if (k == "fallback_next_hop") {
            p.fallback_next_hop = next_hop(v);
        } else if (k == "contact") {
            str(v, p.contact);
        } else if (k == "display_name") {
            if (str(v, s)) {
                if (s.find_first_not_of(" \t") == std::string::npos)
                    error(v, "may not be empty; leave it out to show the partner's name");
                else if (s.find_first_of("\r\n") != std::string::npos)
                    error(v, "must be one line");
                else
                    p.display_name = s;
            }
        } else if (k == "mode") {
            if (str(v, s)) {
                if (auto m = policy::parse_mode(s))
                    p.mode = *m;
                else
                    error(v, "unknown mode '" + s + "': expected enforce or testing");
            }
        }
    }
    if (!is_defaults && f.value.IsMap()) {
        if (!find(fs, "name")) error(f, "missing 'name'");
        if (!find(fs, "domains"))
            error(f, "missing 'domains', e.g. domains: [example.nl, .example.nl]");
    }
}

void Walker::simple_sections(const std::vector<Field>& top, Config& c) {
    for (const auto& v : top) {
        const std::string& k = v.key.Scalar();
        std::string s;
        if (k == "hostname") {
            if (str(v, s)) {
                if (auto d = parse_domain(s, false))
                    c.hostname = *d;
                else
                    error(v, "bad host name '" + s + "'");
            }
        } else if (k == "listen") {
            listeners(v, c);
        } else if (k == "tls") {
            auto fs = fields(v, {"certificate", "private_key", "ca_file"});
            if (auto* x = find(fs, "certificate")) str(*x, c.tls.certificate);
            if (auto* x = find(fs, "private_key")) str(*x, c.tls.private_key);
            if (auto* x = find(fs, "ca_file")) str(*x, c.tls.ca_file);
        } else if (k == "relay_from") {
            auto fs = fields(v, {"networks", "authenticated"});
            if (auto* x = find(fs, "networks")) networks(*x, c.relay_from.networks);
            if (auto* x = find(fs, "authenticated")) boolean(*x, c.relay_from.authenticated);
        } else if (k == "tls_required_header") {
            auto fs = fields(v, {"honour_from"});
            if (auto* x = find(fs, "honour_from")) networks(*x, c.tls_required_header.honour_from);
        } else if (k == "auth") {
            auto fs = fields(v, {"users_file"});
            if (auto* x = find(fs, "users_file")) str(*x, c.auth.users_file);
        } else if (k == "spool") {
            if (str(v, s)) {
                if (s.empty())
                    error(v, "may not be empty");
                else
                    c.spool = s;
            }
        } else if (k == "control_socket") {
            if (str(v, s)) {
                // sockaddr_un::sun_path holds 108 bytes including the final NUL.
                if (s.empty())
                    error(v, "may not be empty");
                else if (s.size() > 107)
                    error(v, "too long for a Unix socket path (at most 107 bytes)");
                else
                    c.control_socket = s;
            }
        } else if (k == "log") {
            auto fs = fields(v, {"level", "delivery_log"});
            if (auto* x = find(fs, "level"))
                one_of(*x,
                       {"trace", "debug", "info", "warning", "warn", "error", "err", "critical",
                        "off"},
                       c.log.level);
            if (auto* x = find(fs, "delivery_log")) str(*x, c.log.delivery_log);
        } else if (k == "dns") {
            auto fs = fields(v, {"nameservers", "trust_anchor_file", "dnssec_check_name"});
            if (auto* x = find(fs, "nameservers")) {
                for (const auto& e : items(*x)) {
                    if (!str(e, s)) continue;
                    Nameserver ns;
                    auto at_sign = s.find('@');
                    ns.ip = s.substr(0, at_sign);
                    bool v6 = false, ok = true;
                    std::array<std::uint8_t, 16> b{};
                    ok = parse_ip(ns.ip, v6, b);
                    if (ok && at_sign != std::string::npos) {
                        auto p = parse_endpoint("[" + ns.ip + "]:" + s.substr(at_sign + 1));
                        ok = p.has_value();
                        if (p) ns.port = p->port;
                    }
                    if (ok)
                        c.dns.nameservers.push_back(ns);
                    else
                        error(e, "bad name server '" + s +
                                     "': expected IP or IP@PORT, e.g. 127.0.0.1@5353");
                }
            }
            if (auto* x = find(fs, "trust_anchor_file")) str(*x, c.dns.trust_anchor_file);
            if (auto* x = find(fs, "dnssec_check_name"); x && str(*x, s)) {
                if (!s.empty() && s != "." && s.back() == '.') s.pop_back();
                if (s == ".")
                    c.dns.dnssec_check_name = s;
                else if (auto d = parse_domain(s, false))
                    c.dns.dnssec_check_name = *d;
                else
                    error(*x, "bad zone name '" + s + "': expected \".\" or a domain");
            }
        } else if (k == "delivery") {
            auto fs = fields(v, {"port", "connect_timeout", "concurrency_per_destination",
                                 "initial_concurrency_per_destination", "max_concurrency"});
            if (auto* x = find(fs, "port")) integer(*x, 1, 65535, c.delivery.port);
            if (auto* x = find(fs, "connect_timeout"))
                duration(*x, false, c.delivery.connect_timeout);
            if (auto* x = find(fs, "concurrency_per_destination"))
                integer(*x, 1, 10000, c.delivery.concurrency_per_destination);
            if (auto* x = find(fs, "initial_concurrency_per_destination"))
                integer(*x, 1, 10000, c.delivery.initial_concurrency_per_destination);
            if (auto* x = find(fs, "max_concurrency"))
                integer(*x, 1, 100000, c.delivery.max_concurrency);
        } else if (k == "mta_sts") {
            auto fs = fields(v, {"port", "fetch_timeout"});
            if (auto* x = find(fs, "port")) integer(*x, 1, 65535, c.mta_sts.port);
            if (auto* x = find(fs, "fetch_timeout")) duration(*x, false, c.mta_sts.fetch_timeout);
        } else if (k == "queue") {
            auto fs = fields(v, {"retry_schedule", "max_lifetime", "delay_warning_after"});
            if (auto* x = find(fs, "retry_schedule")) {
                std::vector<Duration> steps;
                for (const auto& e : items(*x)) {
                    Duration d{};
                    if (duration(e, false, d)) steps.push_back(d);
                }
                if (x->value.IsSequence() && x->value.size() == 0)
                    error(*x, "needs at least one step, e.g. [1m, 5m, 15m, 30m, 1h]");
                if (!steps.empty()) c.queue.retry_schedule = steps;
            }
            if (auto* x = find(fs, "max_lifetime")) duration(*x, false, c.queue.max_lifetime);
            if (auto* x = find(fs, "delay_warning_after"))
                duration(*x, true, c.queue.delay_warning_after);
        } else if (k == "limits") {
            auto fs =
                fields(v, {"max_message_size", "max_recipients", "max_connections",
                           "max_line_length", "command_timeout", "data_timeout", "max_errors"});
            if (auto* x = find(fs, "max_message_size")) size(*x, c.limits.max_message_size);
            if (auto* x = find(fs, "max_recipients"))
                integer(*x, 1, 100000, c.limits.max_recipients);
            if (auto* x = find(fs, "max_connections"))
                integer(*x, 1, 1000000, c.limits.max_connections);
            // RFC 5321 §4.5.3.1.6: a text line of 1000 octets MUST be accepted.
            if (auto* x = find(fs, "max_line_length"))
                integer(*x, 1000, 1 << 20, c.limits.max_line_length);
            if (auto* x = find(fs, "command_timeout"))
                duration(*x, false, c.limits.command_timeout);
            if (auto* x = find(fs, "data_timeout")) duration(*x, false, c.limits.data_timeout);
            if (auto* x = find(fs, "max_errors")) integer(*x, 1, 1000, c.limits.max_errors);
        } else if (k == "metrics") {
            auto fs = fields(v, {"listen"});
            if (auto* x = find(fs, "listen")) c.metrics.listen = ip_endpoint(*x);
        } else if (k == "ndr") {
            auto fs = fields(v, {"languages", "return", "templates", "service_desk", "timezone"});
            if (auto* x = find(fs, "languages")) {
                c.ndr.languages.clear();
                for (const auto& e : items(*x)) {
                    if (!one_of(e, {"nl", "en"}, s)) continue;
                    if (std::find(c.ndr.languages.begin(), c.ndr.languages.end(), s) !=
                        c.ndr.languages.end())
                        error(e, "language '" + s + "' is listed twice");
                    else
                        c.ndr.languages.push_back(s);
                }
                if (x->value.IsSequence() && x->value.size() == 0)
                    error(*x, "needs at least one language: nl, en");
            }
            if (auto* x = find(fs, "return"))
                if (one_of(*x, {"headers", "full"}, s)) c.ndr.return_full = s == "full";
            if (auto* x = find(fs, "templates")) str(*x, c.ndr.templates);
            if (auto* x = find(fs, "timezone")) {
                std::string why;
                if (str(*x, s)) {
                    if (auto tz = load_time_zone(s, zoneinfo_dir(), why))
                        c.ndr.timezone = std::move(*tz);
                    else
                        error(*x, why);
                }
            }
            if (auto* x = find(fs, "service_desk")) {
                if (str(*x, s)) {
                    if (s.find_first_of("\r\n") != std::string::npos)
                        error(*x, "must be one line, e.g. \"ICT-servicedesk, 030 123 45 67\"");
                    else
                        c.ndr.service_desk = s;
                }
            }
        } else if (k == "tlsrpt") {
            auto fs = fields(v, {"enabled", "organization", "contact"});
            if (auto* x = find(fs, "enabled")) boolean(*x, c.tlsrpt.enabled);
            if (auto* x = find(fs, "organization")) str(*x, c.tlsrpt.organization);
            if (auto* x = find(fs, "contact")) {
                // The sender of the report mail and its contact-info (RFC 8460 §4.4).
                if (str(*x, c.tlsrpt.contact) && !c.tlsrpt.contact.empty() &&
                    (c.tlsrpt.contact.find('@') == std::string::npos ||
                     c.tlsrpt.contact.find_first_of(" <>\"") != std::string::npos))
                    error(*x, "'" + c.tlsrpt.contact +
                                  "' is not a mail address, e.g. postmaster@gemeente.nl");
            }
            if (c.tlsrpt.enabled && c.tlsrpt.organization.empty())
                error(v, "enabled: true needs organization (named in every report)");
            if (c.tlsrpt.enabled && c.tlsrpt.contact.empty())
                error(v, "enabled: true needs contact (the address that sends the reports)");
        } else if (k == "sensitive") {
            auto fs = fields(v, {"subject_tags", "headers"});
            if (auto* x = find(fs, "subject_tags")) {
                for (const auto& e : items(*x)) {
                    if (!str(e, s)) continue;
                    if (s.empty())
                        error(e, "a subject tag may not be empty");
                    else
                        c.sensitive.subject_tags.push_back(s);
                }
            }
            if (auto* x = find(fs, "headers")) {
                for (const auto& h : fields(*x, {})) {
                    const std::string& name = h.key.Scalar();
                    bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
                        return ch > 32 && ch < 127 && ch != ':';
                    });
                    if (!ok) error(at(h.key), h.path + ": not a valid header field name");
                    // A single value stands for a list of one.
                    auto values = h.value.IsScalar() ? std::vector<std::string>{h.value.Scalar()}
                                                     : strings(h);
                    if (ok) c.sensitive.headers[name] = values;
                }
            }
        }
    }
}

void Walker::policy_sections(const std::vector<Field>& top, Config& c) {
    // Partners take tls, mta_sts, chunking, tls_min_version and mode from defaults, so
    // read defaults first wherever it stands in the file.
    c.defaults.name = "defaults";
    c.defaults.on_tls_failure = policy::OnTlsFailure::Defer;
    if (auto* d = find(top, "defaults")) rule(*d, c.defaults, true);
    if (auto* ps = find(top, "partners")) {
        for (const auto& item : items(*ps)) {
            Partner p;
            p.tls = c.defaults.tls;
            p.mta_sts = c.defaults.mta_sts;
            p.chunking = c.defaults.chunking;
            p.tls_min_version = c.defaults.tls_min_version;
            p.mode = c.defaults.mode;
            p.on_tls_failure = policy::OnTlsFailure::Bounce;
            rule(item, p, false);
            c.partners.push_back(std::move(p));
        }
    }
}

// Without ndr.timezone: Europe/Amsterdam from tzdata when installed (its
// future rule changes included), else the built-in rule.
void default_time_zone_file(const std::vector<Field>& top, Config& c) {
    if (const Field* ndr = find(top, "ndr"); ndr && ndr->value.IsMap() && ndr->value["timezone"])
        return;
    std::string ignored;
    if (auto tz = load_time_zone(c.ndr.timezone.name, zoneinfo_dir(), ignored))
        c.ndr.timezone = std::move(*tz);
}

Config Walker::walk(const YAML::Node& root) {
    Config c;
    c.relay_from.networks = {*parse_cidr("127.0.0.0/8"), *parse_cidr("::1/128")};
    c.listen = {Listener{{"0.0.0.0", 25}}};
    if (root.IsNull()) {  // an empty or comment-only file: every default
        c.hostname = machine_hostname();
        c.log.delivery_log = c.spool + "/delivery.jsonl";
        c.defaults.name = "defaults";
        c.defaults.on_tls_failure = policy::OnTlsFailure::Defer;
        return c;
    }
    if (!root.IsMap()) {
        error(at(root), std::string("expected a mapping of settings at the top level, found ") +
                            std::string(detail::type_name(root)));
        return c;
    }
    Field top_field{"", root, root};
    auto top = fields(
        top_field, {"hostname", "listen",         "tls",      "relay_from", "auth",
                    "spool",    "control_socket", "log",      "dns",        "delivery",
                    "mta_sts",  "queue",          "limits",   "metrics",    "ndr",
                    "tlsrpt",   "defaults",       "partners", "sensitive",  "tls_required_header"});
    simple_sections(top, c);
    policy_sections(top, c);
    if (!find(top, "hostname")) c.hostname = machine_hostname();
    default_time_zone_file(top, c);
    if (!walked_.has("log.delivery_log")) c.log.delivery_log = c.spool + "/delivery.jsonl";
    return c;
}

// The first line, up to line `last` (1-based; every line when it is 0), whose
// indentation holds a tab, pointing at that tab. YAML allows only spaces
// there (YAML 1.2 §6.1), and yaml-cpp reports a tab only as a structure it
// cannot follow ("illegal map value", "end of map not found"), at another
// column or on a later line. Blank and comment lines do not count: a tab
// there breaks nothing.
std::optional<Position> tab_in_indentation(std::string_view text, const std::string& name,
                                           int last) {
    int line = 1;
    for (std::size_t start = 0; last == 0 || line <= last; ++line) {
        std::size_t end = std::min(text.find('\n', start), text.size());
        std::string_view l = text.substr(start, end - start);
        std::size_t lead = l.find_first_not_of(" \t");
        if (lead != std::string_view::npos && l[lead] != '#' && l[lead] != '\r') {
            if (std::size_t tab = l.substr(0, lead).find('\t'); tab != std::string_view::npos)
                return Position{name, line, static_cast<int>(tab) + 1};
        }
        if (end == text.size()) break;
        start = end + 1;
    }
    return std::nullopt;
}

// Where yaml-cpp says the trouble is (its marks count from 0, -1 unknown).
Position position_of(const std::string& name, const YAML::Mark& m) {
    return {name, m.line < 0 ? 1 : m.line + 1, m.column < 0 ? 1 : m.column + 1};
}

// yaml-cpp's syntax messages name the grammar, not the mistake; the two a
// person makes most are a tab in the indentation and a misaligned or
// unquoted line, so say those in plain words.
ConfigError syntax_error(const std::string& text, const std::string& name,
                         const YAML::ParserException& e) {
    const Position at = position_of(name, e.mark);
    if (auto tab = tab_in_indentation(text, name, e.mark.line < 0 ? 0 : at.line))
        return {*tab, "this line is indented with a tab; YAML needs spaces"};
    return {at, "YAML syntax error: " + e.msg +
                    " (check the indentation of this line and the one before; quote a value that "
                    "starts with [ { * & ! or contains ': ')"};
}

// Line 0: no position, as there is no text to point into. A file that is not
// there is what a first run meets, so name the ways forward.
LoadResult unreadable(const std::string& path, int error) {
    std::string message =
        std::string("cannot read the configuration file: ") + std::strerror(error);
    if (error == ENOENT)
        message +=
            "; write one (config/chainmail.example.yaml is a commented example, installed as "
            "/usr/share/doc/chainmail/chainmail.example.yaml), or name another with -c FILE or "
            "CHAINMAIL_CONFIG, or try --default-config";
    return std::vector<ConfigError>{{{path, 0, 0}, std::move(message)}};
}

}  // namespace

LoadResult load_config_text(const std::string& text, const std::string& name,
                            const LoadOptions& options) {
    std::vector<ConfigError> errors;
    detail::Walked walked;
    Config config;
    try {
        YAML::Node root = YAML::Load(text);
        Walker w(name, walked, errors);
        config = w.walk(root);
    } catch (const YAML::ParserException& e) {
        errors.push_back(syntax_error(text, name, e));
        return errors;
    } catch (const YAML::Exception& e) {
        // Anything else yaml-cpp rejects while we walk.
        errors.push_back({position_of(name, e.mark), "YAML syntax error: " + e.msg});
        return errors;
    }
    config.source = name;
    detail::validate(config, walked, options, errors);
    if (!errors.empty()) {
        std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) {
            return std::tie(a.where.line, a.where.col) < std::tie(b.where.line, b.where.col);
        });
        return errors;
    }
    return config;
}

LoadResult load_config_text(const std::string& text, const std::string& name) {
    return load_config_text(text, name, LoadOptions{});
}

LoadResult load_config_file(const std::string& path, const LoadOptions& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return unreadable(path, errno);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return unreadable(path, errno);
    return load_config_text(text.str(), path, options);
}

LoadResult load_config_file(const std::string& path) {
    return load_config_file(path, LoadOptions{});
}

}  // namespace chainmail::config
