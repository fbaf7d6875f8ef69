// log_time: the times of `chainmail log` and `report`. --since/--until take a
// duration back from now ("2h", "1d12h", "30d") or a timestamp; a timestamp
// without a zone is local time (as journalctl reads it). Log times are UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chainmail::log {

// "90s" "15m" "2h" "30d" "2w" (also combined: "1d12h"), "now", "today",
// "yesterday" (local midnight), "2026-11-22", "2026-11-22 13:05",
// "2026-11-22T13:05:09", with an optional ".123", "Z" or "+01:00".
// Returns unix milliseconds, or nullopt with `err` saying what is wrong.
std::optional<std::int64_t> parse_when(std::string_view s, std::int64_t now_ms, std::string& err);

// A log line's "ts" ("2026-11-22T12:00:00.123Z", or any form parse_when
// takes with a zone): unix milliseconds, or nullopt.
std::optional<std::int64_t> parse_ts(std::string_view ts);

// The log's own form: "2026-11-22T12:00:00.123Z". Fixed width, so that
// comparing two such strings compares the times.
std::string iso_ms(std::int64_t ms);
// "2026-11-22 13:00:00" in local time, for tables.
std::string local_time(std::int64_t ms);
// "2026-11-22" (UTC) of a day number (days since 1970-01-01).
std::string day_string(std::int64_t day);
inline std::int64_t day_of(std::int64_t ms) {
    return (ms >= 0 ? ms : ms - 86'399'999) / 86'400'000;
}

}  // namespace chainmail::log
