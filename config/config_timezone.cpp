#include "config/config_timezone.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace chainmail::config {
namespace {

constexpr std::int64_t kDay = 86400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::int64_t year_of(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t doe = days - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10 ? 1 : 0);
}

bool leap(std::int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(std::int64_t y, int m) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Local (wall clock) seconds since 1970 at which the rule date falls in year y.
std::int64_t rule_local(const PosixTzRule::Date& d, std::int64_t y) {
    std::int64_t day = 0;
    switch (d.kind) {
        case PosixTzRule::Date::Kind::Julian1:  // Jn: 1..365, February 29 never counted
            day = days_from_civil(y, 1, 1) + d.day - 1 + (leap(y) && d.day >= 60 ? 1 : 0);
            break;
        case PosixTzRule::Date::Kind::Julian0:  // n: 0..365, February 29 counted
            day = days_from_civil(y, 1, 1) + d.day;
            break;
        case PosixTzRule::Date::Kind::MonthWeekDay: {
            const std::int64_t first = days_from_civil(y, d.month, 1);
            const int wday_first = static_cast<int>(((first % 7) + 11) % 7);  // 1970-01-01: Thu
            int mday = 1 + (d.day - wday_first + 7) % 7 + 7 * (d.week - 1);
            while (mday > days_in_month(y, d.month)) mday -= 7;  // week 5: the last
            day = first + mday - 1;
            break;
        }
    }
    return day * kDay + d.time;
}

std::int32_t rule_offset(const PosixTzRule& r, std::int64_t t) {
    if (!r.has_dst) return r.std_offset;
    const std::int64_t y = year_of((t + r.std_offset) / kDay - ((t + r.std_offset) % kDay < 0));
    // POSIX: the start time is in standard time, the end time in daylight time.
    const std::int64_t start = rule_local(r.start, y) - r.std_offset;
    const std::int64_t end = rule_local(r.end, y) - r.dst_offset;
    const bool dst = start <= end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? r.dst_offset : r.std_offset;
}

// --- POSIX TZ strings -------------------------------------------------------

class TzScanner {
  public:
    explicit TzScanner(std::string_view s) : s_(s) {}
    bool done() const { return i_ == s_.size(); }
    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
        return false;
    }
    bool peek_digit_or_sign() const {
        return i_ < s_.size() &&
               (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '+' || s_[i_] == '-');
    }
    // A zone abbreviation: 3+ letters, or <...> with letters, digits, + and -.
    bool name() {
        std::size_t start = i_;
        if (eat('<')) {
            while (i_ < s_.size() && s_[i_] != '>') {
                char c = s_[i_];
                if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-')
                    return false;
                ++i_;
            }
            return i_ - start >= 4 && eat('>');
        }
        while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
        return i_ - start >= 3;
    }
    bool number(int lo, int hi, int& out) {
        std::size_t start = i_;
        long v = 0;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])) && i_ - start < 4)
            v = v * 10 + (s_[i_++] - '0');
        if (i_ == start || v < lo || v > hi) return false;
        out = static_cast<int>(v);
        return true;
    }
    // [+-]hh[:mm[:ss]] in seconds; hours up to max_hours (RFC 8536 §3.3.1: 167).
    bool hms(int max_hours, std::int32_t& out) {
        bool neg = eat('-');
        if (!neg) eat('+');
        int h = 0, m = 0, sec = 0;
        if (!number(0, max_hours, h)) return false;
        if (eat(':') && (!number(0, 59, m) || (eat(':') && !number(0, 59, sec)))) return false;
        out = (neg ? -1 : 1) * (h * 3600 + m * 60 + sec);
        return true;
    }
    bool date(PosixTzRule::Date& d) {
        using Kind = PosixTzRule::Date::Kind;
        if (eat('J')) {
            d.kind = Kind::Julian1;
            if (!number(1, 365, d.day)) return false;
        } else if (eat('M')) {
            d.kind = Kind::MonthWeekDay;
            if (!number(1, 12, d.month) || !eat('.') || !number(1, 5, d.week) || !eat('.') ||
                !number(0, 6, d.day))
                return false;
        } else {
            d.kind = Kind::Julian0;
            if (!number(0, 365, d.day)) return false;
        }
        d.time = 2 * 3600;
        return !eat('/') || hms(167, d.time);
    }

  private:
    std::string_view s_;
    std::size_t i_ = 0;
};

// --- TZif -------------------------------------------------------------------

class Bytes {
  public:
    explicit Bytes(std::string_view b) : b_(b) {}
    bool take(std::size_t n, std::string_view& out) {
        if (b_.size() - pos_ < n) return false;
        out = b_.substr(pos_, n);
        pos_ += n;
        return true;
    }
    bool skip(std::uint64_t n) {
        if (b_.size() - pos_ < n) return false;
        pos_ += static_cast<std::size_t>(n);
        return true;
    }
    std::string_view rest() const { return b_.substr(pos_); }

  private:
    std::string_view b_;
    std::size_t pos_ = 0;
};

std::int64_t be(std::string_view s) {  // big-endian, two's complement
    std::uint64_t v = 0;
    for (unsigned char c : s) v = (v << 8) | c;
    if (s.size() < 8 && (v >> (8 * s.size() - 1)) & 1) v |= ~std::uint64_t{0} << (8 * s.size());
    return static_cast<std::int64_t>(v);
}

struct Header {
    char version = 0;
    std::uint32_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
};

// RFC 8536 §3.1: "TZif", a version, 15 unused bytes, six 32-bit counts.
bool header(Bytes& in, Header& h) {
    std::string_view b;
    if (!in.take(44, b) || b.substr(0, 4) != "TZif") return false;
    h.version = b[4];
    if (h.version != 0 && (h.version < '2' || h.version > '9')) return false;
    std::uint32_t* counts[] = {&h.isut, &h.isstd, &h.leap, &h.time, &h.type, &h.chars};
    for (int k = 0; k < 6; ++k)
        *counts[k] = static_cast<std::uint32_t>(be(b.substr(20 + 4 * k, 4)));
    for (int k = 0; k < 6; ++k) *counts[k] &= 0xffffffffu;
    // §3.2: typecnt and charcnt MUST NOT be zero; isutcnt/isstdcnt 0 or typecnt.
    return h.type >= 1 && h.type <= 256 && h.chars >= 1 && (h.isut == 0 || h.isut == h.type) &&
           (h.isstd == 0 || h.isstd == h.type);
}

std::uint64_t block_size(const Header& h, int time_size) {
    return std::uint64_t{h.time} * time_size + h.time + std::uint64_t{h.type} * 6 + h.chars +
           std::uint64_t{h.leap} * (time_size + 4) + h.isstd + h.isut;
}

}  // namespace

std::int32_t utc_offset(const TimeZone& zone, std::int64_t t) {
    if (zone.offsets.empty()) return zone.rule ? rule_offset(*zone.rule, t) : 0;
    auto it = std::upper_bound(zone.transitions.begin(), zone.transitions.end(), t);
    if (it == zone.transitions.begin()) return zone.offsets[0];  // RFC 8536 §3.2: type 0
    if (it == zone.transitions.end() && zone.rule) return rule_offset(*zone.rule, t);
    return zone.offsets[zone.types[static_cast<std::size_t>(it - zone.transitions.begin()) - 1]];
}

std::optional<PosixTzRule> parse_posix_tz(std::string_view s) {
    TzScanner in(s);
    PosixTzRule r;
    std::int32_t west = 0;
    if (!in.name() || !in.hms(24, west)) return std::nullopt;
    r.std_offset = -west;
    if (in.done()) return r;
    if (!in.name()) return std::nullopt;
    r.has_dst = true;
    r.dst_offset = r.std_offset + 3600;
    if (in.peek_digit_or_sign()) {
        if (!in.hms(24, west)) return std::nullopt;
        r.dst_offset = -west;
    }
    // Without a rule POSIX leaves the dates to the implementation; tzcode
    // uses the US rules. RFC 8536 footers always carry one: require it.
    if (!in.eat(',') || !in.date(r.start) || !in.eat(',') || !in.date(r.end) || !in.done())
        return std::nullopt;
    return r;
}

std::optional<TimeZone> parse_tzif(std::string_view bytes, std::string name) {
    Bytes in(bytes);
    Header h;
    if (!header(in, h)) return std::nullopt;
    int time_size = 4;
    if (h.version != 0) {  // §3.2: skip the version 1 block, read the 64-bit one
        if (!in.skip(block_size(h, 4)) || !header(in, h)) return std::nullopt;
        time_size = 8;
    }
    TimeZone z;
    z.name = std::move(name);
    std::string_view b;
    if (!in.take(std::size_t{h.time} * time_size, b)) return std::nullopt;
    for (std::uint32_t k = 0; k < h.time; ++k) {
        z.transitions.push_back(be(b.substr(std::size_t{k} * time_size, time_size)));
        if (k > 0 && z.transitions[k] <= z.transitions[k - 1]) return std::nullopt;  // ascending
    }
    if (!in.take(h.time, b)) return std::nullopt;
    for (unsigned char t : b) {
        if (t >= h.type) return std::nullopt;
        z.types.push_back(t);
    }
    if (!in.take(std::size_t{h.type} * 6, b)) return std::nullopt;
    for (std::uint32_t k = 0; k < h.type; ++k) {
        std::int64_t off = be(b.substr(std::size_t{k} * 6, 4));
        if (off < -89999 || off > 93599) return std::nullopt;  // §3.2: -25:59:59..+25:59:59
        z.offsets.push_back(static_cast<std::int32_t>(off));
    }
    if (!in.skip(std::uint64_t{h.chars} + std::uint64_t{h.leap} * (time_size + 4) + h.isstd +
                 h.isut))
        return std::nullopt;
    if (time_size == 8) {  // §3.3: the footer, "\n" TZ-string "\n"
        std::string_view footer = in.rest();
        if (footer.size() < 2 || footer[0] != '\n') return std::nullopt;
        std::size_t eol = footer.find('\n', 1);
        if (eol == std::string_view::npos) return std::nullopt;
        std::string_view tz = footer.substr(1, eol - 1);
        if (!tz.empty()) {
            z.rule = parse_posix_tz(tz);
            if (!z.rule) return std::nullopt;
        }
    }
    return z;
}

std::string zoneinfo_dir() {
    const char* dir = std::getenv("TZDIR");
    return dir && *dir ? dir : "/usr/share/zoneinfo";
}

std::optional<TimeZone> load_time_zone(const std::string& name, const std::string& dir,
                                       std::string& error) {
    // A name, never a path: "Area/Location" of letters, digits, "_", "+", "-".
    bool ok = !name.empty() && name.front() != '/' && name.back() != '/' &&
              name.find("//") == std::string::npos && name.find("..") == std::string::npos;
    for (char c : name)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' ||
                    c == '+' || c == '-');
    if (!ok) {
        error = "'" + name + "' is not a time zone name; expected Area/Location, e.g. " +
                "Europe/Amsterdam";
        return std::nullopt;
    }
    std::string path = dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "unknown time zone '" + name + "': " + path +
                " does not exist (a name from the tz database such as Europe/Amsterdam; on "
                "Debian the package tzdata provides them)";
        return std::nullopt;
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    auto zone = parse_tzif(bytes.str(), name);
    if (!zone) error = "time zone '" + name + "': " + path + " is not a valid TZif file";
    return zone;
}

TimeZone default_time_zone() {
    TimeZone z;
    z.name = "Europe/Amsterdam";
    z.rule = parse_posix_tz("CET-1CEST,M3.5.0,M10.5.0/3");
    return z;
}

}  // namespace chainmail::config
