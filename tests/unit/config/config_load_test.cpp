// Happy paths: the product's example configuration, the shipped example file
// and the embedded default load into the values an operator wrote.
#include <catch2/catch.hpp>

#include "config/config.hpp"

using namespace chainmail::config;
using namespace chainmail::policy;
using namespace std::chrono_literals;

namespace {

Config must_load(const LoadResult& r) {
    if (auto* e = std::get_if<std::vector<ConfigError>>(&r)) {
        for (const auto& x : *e) UNSCOPED_INFO(x.str());
        FAIL("configuration did not load");
    }
    return std::get<Config>(r);
}

bool has(const std::vector<Cidr>& nets, const char* addr) {
    bool v6 = false;
    std::array<std::uint8_t, 16> b{};
    REQUIRE(parse_ip(addr, v6, b));
    for (const auto& n : nets)
        if (n.contains(v6, b)) return true;
    return false;
}

// The product's own example, with a real fingerprint in place of "...", and
// `reroute`, which its fallback_next_hop needs.
const char* kProductExample = R"(hostname: relay.example.nl
listen:
  - address: "0.0.0.0:25"
    starttls: true
    require_starttls: false
  - address: "[::]:587"
    auth: true
tls:
  certificate: /etc/chainmail/tls/fullchain.pem
  private_key: /etc/chainmail/tls/key.pem
  ca_file: /etc/ssl/certs/ca-certificates.crt
relay_from:
  networks: ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]
  authenticated: true
auth:
  users_file: /etc/chainmail/users
spool: /var/spool/chainmail
log:
  level: info
  delivery_log: /var/log/chainmail/delivery.jsonl
dns:
  nameservers: []
  trust_anchor_file: /usr/share/dns/root.key
delivery:
  port: 25
  connect_timeout: 30s
  concurrency_per_destination: 20
queue:
  retry_schedule: [1m, 5m, 15m, 30m, 1h]
  max_lifetime: 5d
  delay_warning_after: 4h
limits:
  max_message_size: 50MB
  max_recipients: 1000
  max_connections: 2000
metrics:
  listen: "127.0.0.1:9125"
ndr:
  languages: [nl, en]
  return: headers
defaults:
  tls: dane
  mta_sts: true
  on_tls_failure: defer
partners:
  - name: ziekenhuis-west
    domains: [ziekenhuis-west.nl, .ziekenhuis-west.nl]
    tls: dane-only
    next_hop: "[mx.ziekenhuis-west.nl]:25"
    match: [ziekenhuis-west.nl]
    fingerprints: ["sha256:9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08"]
    tls_min_version: "1.2"
    on_tls_failure: reroute
    fallback_next_hop: "[securemail.example.nl]:25"
    contact: "Servicedesk ICT ziekenhuis-west, 010 123 45 67"
    mode: enforce
sensitive:
  subject_tags: ["[vertrouwelijk]", "[secure]"]
  headers: { Sensitivity: [Private, Company-Confidential] }
)";

}  // namespace

TEST_CASE("the product's example configuration loads as written") {
    Config c = must_load(load_config_text(kProductExample, "product.yaml", LoadOptions{false}));
    CHECK(c.source == "product.yaml");
    CHECK(c.hostname == "relay.example.nl");
    REQUIRE(c.listen.size() == 2);
    CHECK(c.listen[0].address.host == "0.0.0.0");
    CHECK(c.listen[0].address.port == 25);
    CHECK(c.listen[0].starttls);
    CHECK_FALSE(c.listen[0].auth);
    CHECK(c.listen[1].address.host == "::");
    CHECK(c.listen[1].address.port == 587);
    CHECK(c.listen[1].auth);
    CHECK(c.listen[1].starttls);
    CHECK(c.tls.certificate == "/etc/chainmail/tls/fullchain.pem");
    CHECK(c.tls.private_key == "/etc/chainmail/tls/key.pem");
    CHECK(c.relay_from.networks.size() == 3);
    CHECK(has(c.relay_from.networks, "10.9.8.7"));
    CHECK(has(c.relay_from.networks, "::1"));
    CHECK_FALSE(has(c.relay_from.networks, "192.0.2.1"));
    CHECK(c.relay_from.authenticated);
    CHECK(c.auth.users_file == "/etc/chainmail/users");
    CHECK(c.spool == "/var/spool/chainmail");
    CHECK(c.log.level == "info");
    CHECK(c.log.delivery_log == "/var/log/chainmail/delivery.jsonl");
    CHECK(c.dns.nameservers.empty());
    CHECK(c.delivery.port == 25);
    CHECK(c.delivery.connect_timeout == 30s);
    CHECK(c.delivery.concurrency_per_destination == 20);
    CHECK(c.delivery.initial_concurrency_per_destination == 5);  // not in the file: the default
    CHECK(c.queue.retry_schedule == std::vector<Duration>{1min, 5min, 15min, 30min, 1h});
    CHECK(c.queue.max_lifetime == 120h);
    CHECK(c.queue.delay_warning_after == 4h);
    CHECK(c.limits.max_message_size == 50u * 1024 * 1024);
    CHECK(c.limits.max_recipients == 1000);
    CHECK(c.limits.max_connections == 2000);
    REQUIRE(c.metrics.listen);
    CHECK(c.metrics.listen->port == 9125);
    CHECK(c.ndr.languages == std::vector<std::string>{"nl", "en"});
    CHECK_FALSE(c.ndr.return_full);
    CHECK(c.defaults.name == "defaults");
    CHECK(c.defaults.tls == TlsLevel::Dane);
    CHECK(c.defaults.on_tls_failure == OnTlsFailure::Defer);
    REQUIRE(c.partners.size() == 1);
    const Partner& p = c.partners[0];
    CHECK(p.name == "ziekenhuis-west");
    CHECK(p.domains == std::vector<std::string>{"ziekenhuis-west.nl", ".ziekenhuis-west.nl"});
    CHECK(p.tls == TlsLevel::DaneOnly);
    REQUIRE(p.next_hop);
    CHECK(p.next_hop->str() == "[mx.ziekenhuis-west.nl]:25");
    CHECK_FALSE(p.next_hop->mx_lookup);
    CHECK(p.match == std::vector<std::string>{"ziekenhuis-west.nl"});
    REQUIRE(p.fingerprints.size() == 1);
    CHECK(p.fingerprints[0][0] == 0x9f);
    CHECK(p.tls_min_version == "1.2");
    CHECK(p.on_tls_failure == OnTlsFailure::Reroute);
    REQUIRE(p.fallback_next_hop);
    CHECK(p.fallback_next_hop->host == "securemail.example.nl");
    CHECK(p.contact == "Servicedesk ICT ziekenhuis-west, 010 123 45 67");
    CHECK(p.mode == Mode::Enforce);
    CHECK(p.where.line == 46);  // for errors found later, e.g. by policy
    CHECK(p.where.col == 5);
    CHECK(c.sensitive.subject_tags == std::vector<std::string>{"[vertrouwelijk]", "[secure]"});
    CHECK(c.sensitive.headers.at("Sensitivity") ==
          std::vector<std::string>{"Private", "Company-Confidential"});
}

TEST_CASE("the shipped example file loads, apart from the files it names") {
    const std::string path = std::string(CHAINMAIL_SOURCE_DIR) + "/config/chainmail.example.yaml";
    Config c = must_load(load_config_file(path, LoadOptions{false}));
    CHECK(c.hostname == "relay.example.nl");
    CHECK(c.partners.size() == 2);
    CHECK(c.partners[1].mode == Mode::Testing);
    CHECK(c.partners[1].on_tls_failure == OnTlsFailure::Bounce);  // the partner default
    CHECK(c.limits.max_line_length == 1000);
    CHECK(c.delivery.max_concurrency == 200);
    CHECK(c.delivery.initial_concurrency_per_destination == 5);
    // With file checks on, the example's placeholder paths are reported, not ignored.
    auto r = load_config_file(path);
    REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
}

TEST_CASE("the embedded default runs a relay on loopback with no file at all") {
    Config c = must_load(load_config_text(embedded_default_yaml(), "(embedded default)"));
    CHECK(c.hostname == machine_hostname());
    CHECK_FALSE(c.hostname.empty());
    REQUIRE(c.listen.size() == 1);
    CHECK(c.listen[0].address.host == "127.0.0.1");
    CHECK(c.listen[0].address.port == 2525);
    CHECK(c.tls.certificate.empty());  // no STARTTLS offered inbound
    CHECK(has(c.relay_from.networks, "127.0.0.1"));
    CHECK(has(c.relay_from.networks, "::1"));
    CHECK_FALSE(has(c.relay_from.networks, "10.0.0.1"));
    CHECK(c.spool == "./spool");
    CHECK(c.log.delivery_log == "./spool/delivery.jsonl");
    CHECK(c.defaults.tls == TlsLevel::Dane);
    CHECK(c.defaults.on_tls_failure == OnTlsFailure::Defer);
    CHECK(c.partners.empty());
}

TEST_CASE("what a file leaves out takes the documented default") {
    Config c = must_load(load_config_text(
        "defaults:\n  tls: may\n  mode: testing\npartners:\n  - name: p\n    domains: [p.nl]\n"
        "  - name: q\n    domains: [q.nl]\n    tls: verify\n    mode: enforce\n",
        "t.yaml"));
    CHECK(c.hostname == machine_hostname());
    REQUIRE(c.listen.size() == 1);
    CHECK(c.listen[0].address.port == 25);
    CHECK(has(c.relay_from.networks, "127.0.0.1"));
    CHECK(c.spool == "/var/spool/chainmail");
    CHECK(c.log.delivery_log == "/var/spool/chainmail/delivery.jsonl");
    CHECK(c.defaults.on_tls_failure == OnTlsFailure::Defer);
    // A partner takes its level and mode from defaults, but bounces by default.
    CHECK(c.partners[0].tls == TlsLevel::May);
    CHECK(c.partners[0].mode == Mode::Testing);
    CHECK(c.partners[0].on_tls_failure == OnTlsFailure::Bounce);
    CHECK(c.partners[1].tls == TlsLevel::Verify);
    CHECK(c.partners[1].mode == Mode::Enforce);
    CHECK(c.queue.delay_warning_after == 4h);
    CHECK(c.ndr.languages == std::vector<std::string>{"nl", "en"});
}

TEST_CASE("chunking is on by default, partners take it from defaults and may set their own") {
    Config on =
        must_load(load_config_text("partners:\n  - name: p\n    domains: [p.nl]\n", "t.yaml"));
    CHECK(on.defaults.chunking);
    CHECK(on.partners[0].chunking);
    Config off = must_load(load_config_text(
        "defaults:\n  chunking: false\npartners:\n  - name: p\n    domains: [p.nl]\n"
        "  - name: q\n    domains: [q.nl]\n    chunking: true\n",
        "t.yaml"));
    CHECK_FALSE(off.defaults.chunking);
    CHECK_FALSE(off.partners[0].chunking);
    CHECK(off.partners[1].chunking);
}

TEST_CASE("an empty delivery_log turns the log file off; 0 turns delay notices off") {
    Config c = must_load(load_config_text(
        "log:\n  delivery_log: \"\"\nqueue:\n  delay_warning_after: 0\n", "t.yaml"));
    CHECK(c.log.delivery_log.empty());
    CHECK(c.queue.delay_warning_after == 0s);
}

TEST_CASE("an empty or comment-only file means every default") {
    Config c = must_load(load_config_text("# nothing set yet\n", "t.yaml"));
    CHECK(c.hostname == machine_hostname());
    CHECK(c.defaults.on_tls_failure == OnTlsFailure::Defer);
    CHECK(c.log.delivery_log == "/var/spool/chainmail/delivery.jsonl");
}
