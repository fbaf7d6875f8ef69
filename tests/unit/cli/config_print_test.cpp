// `chainmail config` prints YAML that loads back into the same configuration:
// print(load(print(c))) == print(c) for the example file, the embedded default
// and a file that sets the unusual values (odd units, IPv6, off switches).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "relay/cli/cli.hpp"

using namespace chainmail;

namespace {

config::Config load_text(const std::string& yaml, const std::string& name) {
    auto r = config::load_config_text(yaml, name, {.check_files = false});
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&r)) {
        for (const auto& e : *errors) UNSCOPED_INFO(e.str());
        FAIL("the configuration does not load: " << name);
    }
    return std::get<config::Config>(std::move(r));
}

// Everything after the first line, which names the source file.
std::string body(const std::string& printed) {
    return printed.substr(printed.find('\n') + 1);
}

std::string round_trips(const std::string& yaml) {
    const std::string first = cli::print_config(load_text(yaml, "in.yaml"));
    INFO(first);
    const std::string second = cli::print_config(load_text(first, "printed.yaml"));
    CHECK(body(second) == body(first));
    return first;
}

}  // namespace

TEST_CASE("the example configuration prints and loads back unchanged") {
    std::ifstream in(std::string(CHAINMAIL_SOURCE_DIR) + "/config/chainmail.example.yaml");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    round_trips(text.str());
}

TEST_CASE("the embedded default prints every default and loads back unchanged") {
    round_trips(config::embedded_default_yaml());
    const auto printed = cli::print_config(load_text(config::embedded_default_yaml(), "d"));
    CHECK_THAT(printed, Catch::Contains("  max_lifetime: 5d\n"));
    CHECK_THAT(printed, Catch::Contains("  retry_schedule: [1m, 5m, 15m, 30m, 1h]\n"));
    CHECK_THAT(printed, Catch::Contains("  ca_file: /etc/ssl/certs/ca-certificates.crt\n"));
    CHECK_THAT(printed, Catch::Contains("  # certificate:   (not set: "));
    CHECK_THAT(printed, Catch::Contains("auth: {}\n"));
    CHECK_THAT(printed, Catch::Contains("partners: []\n"));
}

TEST_CASE("unusual values print in a form that loads back to the same value") {
    const auto printed = round_trips(R"(
hostname: relay.gemeente.test
listen:
  - address: "[::1]:2525"
    starttls: false
log:
  delivery_log: ""
dns:
  nameservers: ["::1@5353", 127.0.0.1]
delivery:
  connect_timeout: 90s
queue:
  retry_schedule: [45s, 2h]
  delay_warning_after: 0
limits:
  max_message_size: 1000
metrics:
  listen: "[::1]:9125"
ndr:
  languages: [en]
  return: full
defaults:
  tls: may
  tls_min_version: "1.3"
partners:
  - name: "zorg: noord"
    domains: [.zorg-noord.test]
    tls: fingerprint
    fingerprints: ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
    on_tls_failure: reroute
    fallback_next_hop: "portal.test:2525"
    contact: "yes"
sensitive:
  subject_tags: ["[secure]", "a, b"]
  headers: {X-Class: "secret: yes"}
)");
    // The values themselves, not only a stable print.
    for (const char* line :
         {"  - address: \"[::1]:2525\"\n    starttls: false\n", "  delivery_log: \"\"   # off\n",
          "  nameservers: [\"::1@5353\", 127.0.0.1]\n", "  connect_timeout: 90s\n",
          "  retry_schedule: [45s, 2h]\n", "  delay_warning_after: 0   # off\n",
          "  max_message_size: 1000\n", "  listen: \"[::1]:9125\"\n", "  languages: [en]\n",
          "  return: full\n", "  tls: may\n", "  tls_min_version: \"1.3\"\n",
          "  - name: \"zorg: noord\"\n    domains: [.zorg-noord.test]\n    tls: fingerprint\n",
          "    fingerprints: "
          "[\"sha256:9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:"
          "0B:82:2C:D1:5D:6C:15:B0:F0:0A:08\"]\n",
          "    on_tls_failure: reroute\n    fallback_next_hop: \"portal.test:2525\"\n",
          "    contact: \"yes\"\n", "  subject_tags: [\"[secure]\", \"a, b\"]\n",
          "    X-Class: [\"secret: yes\"]\n"})
        CHECK_THAT(printed, Catch::Contains(line));
}

TEST_CASE("the report keys print: timezone, service_desk and each partner's display_name") {
    const auto dflt = cli::print_config(load_text(config::embedded_default_yaml(), "d"));
    CHECK_THAT(dflt, Catch::Contains("  timezone: Europe/Amsterdam\n"));
    CHECK_THAT(dflt, Catch::Contains("  # service_desk:   (not set: "));
    const auto printed = round_trips(R"(
hostname: relay.gemeente.test
ndr:
  timezone: America/New_York
  service_desk: "ICT-servicedesk gemeente, 030 123 45 67"
partners:
  - name: ziekenhuis-west
    display_name: "Ziekenhuis West"
    domains: [ziekenhuis-west.nl]
  - name: school
    domains: [school.test]
)");
    CHECK_THAT(printed, Catch::Contains("  timezone: America/New_York\n"));
    CHECK_THAT(printed,
               Catch::Contains("  service_desk: \"ICT-servicedesk gemeente, 030 123 45 67\"\n"));
    CHECK_THAT(printed, Catch::Contains("    display_name: \"Ziekenhuis West\"\n"));
    CHECK_THAT(printed, Catch::Contains("    display_name: school\n"));  // the name, by default
}
