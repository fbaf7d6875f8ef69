// config: the whole YAML schema of the product as plain, typed structs.
// load_config() validates once and returns either a Config or every error,
// each with FILE:LINE:COL; nothing downstream re-validates. A new key is also
// printed by `chainmail config` (relay/cli/config.cpp); a lab test checks that
// every key of config/chainmail.example.yaml appears there.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config_timezone.hpp"
#include "policy/partner.hpp"
#include "policy/retry.hpp"

namespace chainmail::config {

using Duration = std::chrono::seconds;

// Where a value stood in the YAML file, for error messages.
using Position = policy::Position;

struct ConfigError {
    Position where;
    std::string message;
    std::string str() const;  // "FILE:LINE:COL: message"; "FILE: message" when line is 0
};

// An IPv4 or IPv6 network; IPv4 is kept as IPv4, not mapped.
struct Cidr {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4
    int prefix = 0;
    // addr is 4 bytes (v4) or 16 bytes (v6); a v4-mapped v6 address matches v4 networks.
    bool contains(bool addr_v6, const std::array<std::uint8_t, 16>& addr) const;
    std::string str() const;
};

// "host:port", "[v6]:port" or "[host]:port".
struct Endpoint {
    std::string host;  // without brackets
    std::uint16_t port = 0;
};

using NextHop = policy::NextHop;  // next_hop: "[h]:p", "h:p" or "h"

struct Listener {
    Endpoint address;
    bool starttls = true;           // offered when tls.certificate is set
    bool require_starttls = false;  // 530 5.7.0 to MAIL before STARTTLS
    bool auth = false;              // AUTH PLAIN/LOGIN after STARTTLS
    Position where;
};

struct TlsIdentity {
    std::string certificate;  // empty: no STARTTLS offered inbound
    std::string private_key;
    std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
};

struct RelayFrom {
    std::vector<Cidr> networks;
    bool authenticated = true;
};

struct Auth {
    std::string users_file;  // empty: AUTH not offered
};

struct Log {
    std::string level = "info";
    std::string delivery_log;  // empty: no delivery log file
};

struct Nameserver {
    std::string ip;
    std::uint16_t port = 53;
};

struct Dns {
    std::vector<Nameserver> nameservers;  // empty: /etc/resolv.conf
    std::string trust_anchor_file = "/usr/share/dns/root.key";
    // A signed zone whose DNSKEY set must validate at start-up and reload
    // (the DNSSEC self-check); "." is the root.
    std::string dnssec_check_name = ".";
};

struct Delivery {
    std::uint16_t port = 25;
    Duration connect_timeout = std::chrono::seconds(30);
    int concurrency_per_destination = 20;
    // Slow start (as Postfix's initial_destination_concurrency): connections a
    // destination gets until its due mail has waited for one for a second.
    int initial_concurrency_per_destination = 5;
    int max_concurrency = 200;  // total outbound sessions
};

// MTA-STS policy fetching (RFC 8461 §3.3). Only labs and tests change these.
struct MtaSts {
    std::uint16_t port = 443;                           // HTTPS port of mta-sts.DOMAIN
    Duration fetch_timeout = std::chrono::seconds(30);  // the whole fetch, connect to body
};

using Queue = policy::QueueRules;  // queue: retry_schedule, max_lifetime, delay_warning_after

struct Limits {
    std::uint64_t max_message_size = 50ull * 1024 * 1024;  // sizes are binary: 1 MB = 1024 KB
    int max_recipients = 1000;
    int max_connections = 2000;
    // Beyond the basic example, with Postfix-like defaults (docs/config.md).
    std::size_t max_line_length = 1000;  // RFC 5321 §4.5.3.1.6 text line incl. CRLF
    Duration command_timeout = std::chrono::minutes(5);  // RFC 5321 §4.5.3.2.7
    Duration data_timeout = std::chrono::minutes(3);     // per DATA block read
    int max_errors = 10;  // protocol errors before 421 and disconnect
};

struct Metrics {
    std::optional<Endpoint> listen;
};

// RFC 8460 daily TLS reports to the recipient domains that ask for them.
struct Tlsrpt {
    bool enabled = false;
    std::string organization;  // "organization-name" of the report
    std::string contact;       // "contact-info"; also the report mail's sender
};

struct Ndr {
    std::vector<std::string> languages{"nl", "en"};
    bool return_full = false;  // "headers" | "full"
    std::string templates;     // directory overriding the shipped texts; empty: none
    std::string service_desk;  // the sender's own help line, in every report; empty: none
    // Times in the human-readable parts; read from zoneinfo at load.
    TimeZone timezone = default_time_zone();
};

// A partner rule, and `defaults` (policy/partner.hpp).
using Partner = policy::Partner;

struct Sensitive {
    std::vector<std::string> subject_tags;
    std::map<std::string, std::vector<std::string>> headers;  // header name -> values
};

// RFC 8689 §4.2.2: a "TLS-Required: No" header asks to ignore the
// recipient's TLS policy. Honoured only for messages from these clients.
struct TlsRequiredHeader {
    std::vector<Cidr> honour_from;  // empty (the default): never honoured
};

struct Config {
    std::string source;  // file the config came from, or "(embedded default)"
    std::string hostname;
    std::vector<Listener> listen;
    TlsIdentity tls;
    RelayFrom relay_from;
    Auth auth;
    std::string spool = "/var/spool/chainmail";
    // `chainmail queue` commands reach the running serve here (owner-only).
    std::string control_socket = "/run/chainmail/control";
    Log log;
    Dns dns;
    Delivery delivery;
    MtaSts mta_sts;
    Queue queue;
    Limits limits;
    Metrics metrics;
    Ndr ndr;
    Tlsrpt tlsrpt;
    Partner defaults;
    std::vector<Partner> partners;
    Sensitive sensitive;
    TlsRequiredHeader tls_required_header;
};

using LoadResult = std::variant<Config, std::vector<ConfigError>>;

struct LoadOptions {
    // Whether files the configuration names explicitly (tls.certificate,
    // tls.private_key, tls.ca_file, auth.users_file, dns.trust_anchor_file,
    // ndr.templates) must be readable now. Off only to check a file meant for
    // another machine.
    bool check_files = true;
};

// Reads and validates a YAML file. Relative paths inside are taken relative
// to the current directory, as an operator typing the command expects.
LoadResult load_config_file(const std::string& path);
LoadResult load_config_file(const std::string& path, const LoadOptions& options);

// The same for text already in memory; `name` stands for the file in errors.
LoadResult load_config_text(const std::string& text, const std::string& name);
LoadResult load_config_text(const std::string& text, const std::string& name,
                            const LoadOptions& options);

// The embedded default: 127.0.0.1:2525, relay from loopback only, spool
// ./spool under the working directory (the control socket in it), defaults tls: dane with
// on_tls_failure: defer, no certificate (so no STARTTLS inbound); the
// hostname is the machine's name. A first run works with no file at all.
const std::string& embedded_default_yaml();

// The machine's name from gethostname(), used when `hostname` is absent.
std::string machine_hostname();

// Parsers shared with the command line; nullopt on bad input.
std::optional<Duration> parse_duration(std::string_view s);   // "30s", "5m", "4h", "5d", "0"
std::optional<std::uint64_t> parse_size(std::string_view s);  // "50MB", "10KB", "1GB", "123"
std::optional<Cidr> parse_cidr(std::string_view s);           // "10.0.0.0/8", "::1/128", "1.2.3.4"
std::optional<Endpoint> parse_endpoint(std::string_view s);   // "0.0.0.0:25", "[::]:587"
std::optional<NextHop> parse_next_hop(std::string_view s);    // "[h]:p", "[h]", "h:p", "h"
// "sha256:" then 64 hex digits, pairs optionally separated by colons.
std::optional<std::array<std::uint8_t, 32>> parse_fingerprint(std::string_view s);
// A domain as written in `domains` or `match`: lower-cased, optional leading
// dot (= every subdomain); nullopt when it is not a valid DNS name.
std::optional<std::string> parse_domain(std::string_view s, bool allow_leading_dot);
// An IPv4 or IPv6 address literal (no brackets) into Cidr-style bytes.
bool parse_ip(std::string_view s, bool& v6, std::array<std::uint8_t, 16>& bytes);

}  // namespace chainmail::config
