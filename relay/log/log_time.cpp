#include "relay/log/log_time.hpp"

#include <fmt/core.h>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace chainmail::log {

namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const char c = s[at + k];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

std::optional<std::int64_t> duration_ms(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        std::int64_t n = 0;
        const std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && n < 1'000'000'000)
            n = n * 10 + (s[i++] - '0');
        if (i == start || i >= s.size()) return std::nullopt;
        std::int64_t unit = 0;
        switch (s[i++]) {
            case 's':
                unit = 1000;
                break;
            case 'm':
                unit = 60'000;
                break;
            case 'h':
                unit = 3'600'000;
                break;
            case 'd':
                unit = 86'400'000;
                break;
            case 'w':
                unit = 7 * 86'400'000LL;
                break;
            default:
                return std::nullopt;
        }
        total += n * unit;
    }
    return total;
}

std::int64_t local_midnight(std::int64_t ms, int days_back) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday -= days_back;
    tm.tm_isdst = -1;
    return static_cast<std::int64_t>(std::mktime(&tm)) * 1000;
}

// "YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH[:]MM]"; `need_zone` for log lines.
std::optional<std::int64_t> timestamp_ms(std::string_view s, bool need_zone) {
    std::tm tm{};
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
    if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) ||
        s[7] != '-' || !digits(s, 8, 2, d))
        return std::nullopt;
    std::size_t i = 10;
    if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
        if (!digits(s, i + 1, 2, h) || i + 3 >= s.size() || s[i + 3] != ':' ||
            !digits(s, i + 4, 2, mi))
            return std::nullopt;
        i += 6;
        if (i < s.size() && s[i] == ':') {
            if (!digits(s, i + 1, 2, sec)) return std::nullopt;
            i += 3;
            if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
                ++i;
                int scale = 100;
                while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                    ms += (s[i++] - '0') * scale;
                    scale /= 10;
                }
            }
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (i == s.size()) {
        if (need_zone) return std::nullopt;
        tm.tm_isdst = -1;
        return static_cast<std::int64_t>(std::mktime(&tm)) * 1000 + ms;
    }
    std::int64_t offset_min = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        ++i;
    } else if (s[i] == '+' || s[i] == '-') {
        const int sign = s[i] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        if (!digits(s, i + 1, 2, oh)) return std::nullopt;
        i += 3;
        if (i < s.size() && s[i] == ':') ++i;
        if (!digits(s, i, 2, om)) return std::nullopt;
        i += 2;
        offset_min = sign * (oh * 60 + om);
    } else {
        return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    return (static_cast<std::int64_t>(timegm(&tm)) - offset_min * 60) * 1000 + ms;
}

}  // namespace

std::optional<std::int64_t> parse_when(std::string_view s, std::int64_t now, std::string& err) {
    if (s == "now") return now;
    if (s == "today") return local_midnight(now, 0);
    if (s == "yesterday") return local_midnight(now, 1);
    if (auto d = duration_ms(s)) return now - *d;
    if (auto t = timestamp_ms(s, false)) return t;
    err = fmt::format(
        "'{}' is neither a duration (90s, 15m, 2h, 30d, 2w) nor a time (2026-11-22, "
        "2026-11-22 13:05, 2026-11-22T13:05:00Z, today, yesterday)",
        s);
    return std::nullopt;
}

std::optional<std::int64_t> parse_ts(std::string_view ts) {
    return timestamp_ms(ts, true);
}

std::string iso_ms(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000));
    return buf;
}

std::string local_time(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string day_string(std::int64_t day) {
    return iso_ms(day * 86'400'000).substr(0, 10);
}

}  // namespace chainmail::log
