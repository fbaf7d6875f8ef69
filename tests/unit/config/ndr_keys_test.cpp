// The report keys a person reads: ndr.service_desk and partners[].display_name
// load as given, and what would break a report's layout is FILE:LINE:COL.
#include <catch2/catch.hpp>

#include "config/config.hpp"

using namespace chainmail::config;

namespace {

std::string first_error(const std::string& yaml) {
    auto r = load_config_text("hostname: relay.example.nl\n" + yaml, "t.yaml");
    auto* errors = std::get_if<std::vector<ConfigError>>(&r);
    REQUIRE(errors);
    REQUIRE_FALSE(errors->empty());
    return (*errors)[0].str();
}

}  // namespace

TEST_CASE("service_desk and display_name load as written") {
    auto r = load_config_text(
        "ndr:\n  service_desk: \"ICT-servicedesk, 030 123 45 67\"\npartners:\n"
        "  - name: zw\n    display_name: \"Ziekenhuis West\"\n    domains: [zw.nl]\n",
        "t.yaml");
    REQUIRE(std::holds_alternative<Config>(r));
    const Config& c = std::get<Config>(r);
    CHECK(c.ndr.service_desk == "ICT-servicedesk, 030 123 45 67");
    CHECK(c.partners.at(0).display_name == "Ziekenhuis West");
}

TEST_CASE("a display_name that is empty, two lines or in defaults is refused with its position") {
    CHECK(first_error("partners:\n  - name: zw\n    display_name: \"\"\n    domains: [zw.nl]\n")
              .rfind("t.yaml:4:19: partners[0].display_name: may not be empty", 0) == 0);
    CHECK(
        first_error("partners:\n  - name: zw\n    display_name: \"a\\nb\"\n    domains: [zw.nl]\n")
            .rfind("t.yaml:4:19: partners[0].display_name: must be one line", 0) == 0);
    CHECK(first_error("defaults:\n  display_name: Iedereen\n").rfind("t.yaml:3:3: ", 0) == 0);
    CHECK(first_error("ndr:\n  service_desk: \"a\\nb\"\n")
              .rfind("t.yaml:3:17: ndr.service_desk: must be one line", 0) == 0);
}
