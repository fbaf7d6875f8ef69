// --since and --until: durations back from now, timestamps with or without zone.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "relay/log/log_time.hpp"

using namespace chainmail::log;

TEST_CASE("durations and timestamps") {
    const std::int64_t now = *parse_ts("2026-11-22T12:00:00.000Z");
    struct Row {
        const char* in;
        const char* want;  // iso_ms, or nullptr for an error
    };
    const Row rows[] = {
        {"90s", "2026-11-22T11:58:30.000Z"},
        {"15m", "2026-11-22T11:45:00.000Z"},
        {"2h", "2026-11-22T10:00:00.000Z"},
        {"1d12h", "2026-11-21T00:00:00.000Z"},
        {"2w", "2026-11-08T12:00:00.000Z"},
        {"now", "2026-11-22T12:00:00.000Z"},
        {"2026-11-20T08:30:00Z", "2026-11-20T08:30:00.000Z"},
        {"2026-11-20T08:30:00.250Z", "2026-11-20T08:30:00.250Z"},
        {"2026-11-20T08:30:00+01:00", "2026-11-20T07:30:00.000Z"},
        {"2026-11-20T08:30-0130", "2026-11-20T10:00:00.000Z"},
        {"2h30", nullptr},
        {"5x", nullptr},
        {"2026-13-01", nullptr},
        {"2026-11-20T25:00", nullptr},
        {"yesterday-ish", nullptr},
        {"", nullptr},
    };
    for (const Row& r : rows) {
        INFO(r.in);
        std::string err;
        const auto got = parse_when(r.in, now, err);
        if (r.want) {
            REQUIRE(got);
            CHECK(iso_ms(*got) == r.want);
        } else {
            CHECK_FALSE(got);
            CHECK(err.find("neither a duration") != std::string::npos);
        }
    }
}

TEST_CASE("a timestamp without a zone is local time") {
    setenv("TZ", "Europe/Amsterdam", 1);
    tzset();
    std::string err;
    CHECK(iso_ms(*parse_when("2026-11-20 08:30", 0, err)) == "2026-11-20T07:30:00.000Z");
    CHECK(iso_ms(*parse_when("2026-07-20", 0, err)) == "2026-07-19T22:00:00.000Z");
    CHECK(local_time(*parse_ts("2026-11-20T07:30:00.000Z")) == "2026-11-20 08:30:00");
    unsetenv("TZ");
    tzset();
}

TEST_CASE("log times are fixed width so that they compare as strings") {
    CHECK(iso_ms(0) == "1970-01-01T00:00:00.000Z");
    CHECK(iso_ms(*parse_ts("2026-11-22T12:00:00.5Z")) == "2026-11-22T12:00:00.500Z");
    CHECK(day_string(day_of(*parse_ts("2026-11-22T23:59:59.999Z"))) == "2026-11-22");
    CHECK_FALSE(parse_ts("2026-11-22T12:00:00"));  // the log always has a zone
}
