// ndr.timezone: the zone is read from the system's zoneinfo at load, and the
// offset at a given instant follows its transitions and its POSIX rule.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"
#include "config/config_timezone.hpp"

using namespace chainmail::config;

namespace {

constexpr std::int64_t kHour = 3600;

// 2026-11-22 12:00:00 UTC and friends, as unix seconds.
constexpr std::int64_t kWinter2026 = 1795348800;         // 2026-11-22 12:00 UTC
constexpr std::int64_t kSummer2026 = 1782907200;         // 2026-07-01 12:00 UTC
constexpr std::int64_t kSpringForward2026 = 1774746000;  // 2026-03-29 01:00 UTC
constexpr std::int64_t kFallBack2026 = 1792890000;       // 2026-10-25 01:00 UTC
constexpr std::int64_t kSummer2061 = 2887876800;         // 2061-07-06 12:00 UTC
constexpr std::int64_t kWinter2061 = 2899972800;         // 2061-11-23 12:00 UTC

TimeZone zone(const std::string& name) {
    std::string error;
    auto z = load_time_zone(name, zoneinfo_dir(), error);
    INFO(error << " (install the Debian package tzdata: .ci/deps.sh)");
    REQUIRE(z);
    return *z;
}

}  // namespace

TEST_CASE("local time offsets: winter and summer, at the switch, and past 2037 by the rule") {
    struct Row {
        const char* zone;
        std::int64_t t;
        std::int64_t offset;
    };
    const Row rows[] = {
        {"Europe/Amsterdam", kWinter2026, 1 * kHour},
        {"Europe/Amsterdam", kSummer2026, 2 * kHour},
        {"Europe/Amsterdam", kSpringForward2026 - 1, 1 * kHour},
        {"Europe/Amsterdam", kSpringForward2026, 2 * kHour},
        {"Europe/Amsterdam", kFallBack2026 - 1, 2 * kHour},
        {"Europe/Amsterdam", kFallBack2026, 1 * kHour},
        {"Europe/Amsterdam", kSummer2061, 2 * kHour},
        {"Europe/Amsterdam", kWinter2061, 1 * kHour},
        {"Australia/Sydney", kWinter2026, 11 * kHour},  // the southern summer
        {"Australia/Sydney", kSummer2026, 10 * kHour},
        {"Australia/Sydney", kWinter2061, 11 * kHour},
        {"America/New_York", kWinter2026, -5 * kHour},
        {"America/New_York", kSummer2061, -4 * kHour},
        {"Asia/Kolkata", kSummer2026, 5 * kHour + 1800},
        {"UTC", kSummer2026, 0},
    };
    for (const Row& r : rows) {
        INFO(r.zone << " at " << r.t);
        CHECK(utc_offset(zone(r.zone), r.t) == r.offset);
    }
}

TEST_CASE("the built-in Europe/Amsterdam rule agrees with tzdata from 1996 on") {
    TimeZone builtin = default_time_zone();
    TimeZone file = zone("Europe/Amsterdam");
    CHECK(builtin.name == "Europe/Amsterdam");
    for (std::int64_t t = 852076800; t < 4102444800; t += 7 * 86400 + 3599)  // 1997..2100
        REQUIRE(utc_offset(builtin, t) == utc_offset(file, t));
}

TEST_CASE("POSIX TZ rules: the forms RFC 8536 footers use, and what is refused") {
    auto ams = parse_posix_tz("CET-1CEST,M3.5.0,M10.5.0/3");
    REQUIRE(ams);
    CHECK(ams->std_offset == 3600);
    CHECK(ams->dst_offset == 7200);
    auto india = parse_posix_tz("<+0530>-5:30");
    REQUIRE(india);
    CHECK_FALSE(india->has_dst);
    CHECK(india->std_offset == 5 * 3600 + 1800);
    CHECK(parse_posix_tz("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"));  // America/Nuuk: negative times
    CHECK(parse_posix_tz("EST5EDT,0/0,J365/25"));               // RFC 8536 §3.3.1 example
    for (const char* bad : {"", "C-1", "CET", "CET-1CEST", "CET-1CEST,M13.5.0,M10.5.0",
                            "CET-1CEST,M3.5.0", "CET-1 ", "<AB>1"})
        CHECK_FALSE(parse_posix_tz(bad));
}

TEST_CASE("a file that is not TZif, or is cut short, is refused") {
    CHECK_FALSE(parse_tzif("", "x"));
    CHECK_FALSE(parse_tzif("# tzdata zone.tab\n", "x"));
    std::ifstream in(zoneinfo_dir() + "/Europe/Amsterdam", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    REQUIRE(parse_tzif(bytes, "Europe/Amsterdam"));
    for (std::size_t cut : {std::size_t{10}, std::size_t{60}, bytes.size() / 2, bytes.size() - 3})
        CHECK_FALSE(parse_tzif(bytes.substr(0, cut), "x"));
}

TEST_CASE("ndr.timezone: a known zone loads; an unknown one is FILE:LINE:COL") {
    auto ok = load_config_text("ndr:\n  timezone: America/New_York\n", "t.yaml");
    REQUIRE(std::holds_alternative<Config>(ok));
    CHECK(std::get<Config>(ok).ndr.timezone.name == "America/New_York");
    CHECK(utc_offset(std::get<Config>(ok).ndr.timezone, kWinter2026) == -5 * kHour);

    auto dflt = load_config_text("hostname: relay.example.nl\n", "t.yaml");
    REQUIRE(std::holds_alternative<Config>(dflt));
    CHECK(std::get<Config>(dflt).ndr.timezone.name == "Europe/Amsterdam");

    for (const char* bad : {"Europe/Amsterdm", "../../etc/passwd", "/etc/localtime", "zone.tab"}) {
        auto r = load_config_text(
            std::string("hostname: relay.example.nl\nndr:\n  timezone: ") + bad + "\n", "t.yaml");
        REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
        auto errors = std::get<std::vector<ConfigError>>(r);
        REQUIRE(errors.size() == 1);
        INFO(errors[0].str());
        CHECK(errors[0].str().rfind("t.yaml:3:13: ndr.timezone: ", 0) == 0);
    }
}
