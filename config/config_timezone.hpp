// config_timezone: a time zone read once, at config load, from the system's
// zoneinfo (TZif, RFC 8536) into plain data; utc_offset() is then pure and
// thread-safe: no TZ variable, no localtime_r, no file access after load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainmail::config {

// A POSIX TZ rule (RFC 8536 §3.3, POSIX.1-2017 §8.3), e.g.
// "CET-1CEST,M3.5.0,M10.5.0/3": the local time after the last transition.
struct PosixTzRule {
    std::int32_t std_offset = 0;  // seconds east of UTC (the string says west)
    bool has_dst = false;
    std::int32_t dst_offset = 0;
    struct Date {
        enum class Kind { Julian1, Julian0, MonthWeekDay } kind = Kind::MonthWeekDay;
        int day = 0;  // Jn: 1..365; n: 0..365; Mm.w.d: d (0 = Sunday)
        int month = 0;
        int week = 0;                  // 1..5, 5 = the last
        std::int32_t time = 2 * 3600;  // local time of day, -167h..167h
    };
    Date start, end;  // into and out of daylight saving time
};

struct TimeZone {
    std::string name = "UTC";
    std::vector<std::int64_t> transitions;  // unix seconds, ascending
    std::vector<std::uint8_t> types;        // per transition: index into offsets
    std::vector<std::int32_t> offsets;      // per local time type: seconds east of UTC
    std::optional<PosixTzRule> rule;        // after the last transition
};

// Seconds east of UTC at unix time `t` (local = t + offset).
std::int32_t utc_offset(const TimeZone& zone, std::int64_t t);

// Pure parsers; nullopt when the bytes or the string are not valid.
std::optional<TimeZone> parse_tzif(std::string_view bytes, std::string name);
std::optional<PosixTzRule> parse_posix_tz(std::string_view s);

// The zone from `zoneinfo_dir`/NAME ("Europe/Amsterdam"); on failure nullopt
// and `error` says why, in words for the operator.
std::optional<TimeZone> load_time_zone(const std::string& name, const std::string& zoneinfo_dir,
                                       std::string& error);

// $TZDIR when set, else /usr/share/zoneinfo (tzdata).
std::string zoneinfo_dir();

// ndr.timezone's default, Europe/Amsterdam, from its POSIX rule (right since
// 1996): used when tzdata is not installed and no zone was configured.
TimeZone default_time_zone();

}  // namespace chainmail::config
