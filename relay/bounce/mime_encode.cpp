#include "relay/bounce/mime_encode.hpp"
#include "policy/smtp_codec.hpp"

#include <fmt/format.h>
#include <cctype>
#include <ctime>
#include <optional>

namespace chainmail::bounce {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void append_hex(std::string& out, unsigned char c) {
    out += '=';
    out += kHex[c >> 4];
    out += kHex[c & 0x0f];
}

// Length of the UTF-8 sequence starting with `lead` (1 for a stray byte).
std::size_t utf8_len(unsigned char lead) {
    if (lead >= 0xf0 && lead < 0xf8) return 4;
    if (lead >= 0xe0) return lead < 0xf0 ? 3 : 1;
    if (lead >= 0xc0) return 2;
    return 1;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::tm utc(std::int64_t unix_ms) {
    std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
}

}  // namespace

bool is_ascii(std::string_view s) {
    for (unsigned char c : s) {
        if ((c < 0x20 && c != '\t') || c >= 0x7f) return false;
    }
    return true;
}

std::string quoted_printable(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t eol = text.find('\n', pos);
        bool last = eol == std::string_view::npos;
        std::string_view line = text.substr(pos, last ? std::string_view::npos : eol - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (last && line.empty()) break;
        std::size_t col = 0;
        for (std::size_t i = 0; i < line.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(line[i]);
            bool at_end = i + 1 == line.size();
            std::string token;
            // RFC 2045 §6.7 (3): white space at the end of a line is encoded.
            if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end)) {
                token = static_cast<char>(c);
            } else {
                append_hex(token, c);
            }
            // RFC 2045 §6.7 (5): lines at most 76 characters, soft break included.
            std::size_t limit = at_end ? 76 : 75;
            if (col + token.size() > limit) {
                out += "=\r\n";
                col = 0;
            }
            out += token;
            col += token.size();
        }
        out += "\r\n";
        if (last) break;
        pos = eol + 1;
    }
    return out;
}

std::string encode_words(std::string_view utf8) {
    if (is_ascii(utf8)) return std::string(utf8);
    constexpr std::string_view kOpen = "=?utf-8?q?";
    constexpr std::string_view kClose = "?=";
    // RFC 2047 §2: an encoded-word is at most 75 characters.
    constexpr std::size_t kMaxPayload = 75 - kOpen.size() - kClose.size();
    std::string out;
    std::string word;
    auto flush = [&] {
        if (word.empty()) return;
        if (!out.empty()) out += ' ';
        out += kOpen;
        out += word;
        out += kClose;
        word.clear();
    };
    for (std::size_t i = 0; i < utf8.size();) {
        std::size_t n = std::min(utf8_len(static_cast<unsigned char>(utf8[i])), utf8.size() - i);
        std::string enc;
        for (std::size_t k = 0; k < n; ++k) {
            unsigned char c = static_cast<unsigned char>(utf8[i + k]);
            // RFC 2047 §5(3): the safe set inside a phrase; '_' stands for a space.
            if (c == ' ') {
                enc += '_';
            } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '!' || c == '*' || c == '+' || c == '-' || c == '/') {
                enc += static_cast<char>(c);
            } else {
                append_hex(enc, c);
            }
        }
        if (word.size() + enc.size() > kMaxPayload) flush();
        word += enc;
        i += n;
    }
    flush();
    return out;
}

namespace {

// One encoded-word's text in UTF-8, or nullopt when it cannot be decoded.
std::optional<std::string> decode_word(std::string_view charset, char enc, std::string_view text) {
    std::string lower = policy::ascii_lower(charset);
    if (auto star = lower.find('*'); star != std::string::npos) lower.resize(star);  // RFC 2231 §5
    bool latin1 = lower == "iso-8859-1" || lower == "latin1";
    if (lower != "utf-8" && lower != "us-ascii" && !latin1) return std::nullopt;
    std::string raw;
    if (enc == 'b' || enc == 'B') {
        // Some writers leave out the final padding; RFC 4648 §4 wants it.
        std::string padded(text);
        padded.append((4 - padded.size() % 4) % 4, '=');
        auto d = policy::base64_decode(padded);
        if (!d) return std::nullopt;
        raw = *d;
    } else if (enc == 'q' || enc == 'Q') {
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '_') {
                raw += ' ';
            } else if (text[i] == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
                       hex_value(text[i + 2]) >= 0) {
                raw += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
                i += 2;
            } else {
                raw += text[i];
            }
        }
    } else {
        return std::nullopt;
    }
    if (!latin1) return raw;
    std::string utf8;
    for (unsigned char c : raw) {
        if (c < 0x80) {
            utf8 += static_cast<char>(c);
        } else {
            utf8 += static_cast<char>(0xc0 | (c >> 6));
            utf8 += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    return utf8;
}

}  // namespace

std::string decode_words(std::string_view value) {
    std::string out;
    std::size_t pos = 0;
    bool last_was_word = false;
    while (pos < value.size()) {
        std::size_t start = value.find("=?", pos);
        std::size_t q1 = start == std::string_view::npos ? start : value.find('?', start + 2);
        std::size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
        std::size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
        std::optional<std::string> word;
        if (end != std::string_view::npos && q2 == q1 + 2) {
            word = decode_word(value.substr(start + 2, q1 - start - 2), value[q1 + 1],
                               value.substr(q2 + 1, end - q2 - 1));
        }
        std::string_view before = value.substr(pos, (word ? start : value.size()) - pos);
        if (!word) {
            out += before;
            break;
        }
        // RFC 2047 §6.2: white space between two encoded-words is not shown.
        bool only_space = before.find_first_not_of(" \t\r\n") == std::string_view::npos;
        if (!(last_was_word && only_space)) out += before;
        out += *word;
        last_was_word = true;
        pos = end + 2;
    }
    return out;
}

std::string header_line(std::string_view name, std::string_view value) {
    std::string line(name);
    line += ':';
    std::size_t col = line.size();
    bool has_token = false;  // on the current line
    std::size_t pos = 0;
    while (pos < value.size()) {
        while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t' ||
                                      value[pos] == '\r' || value[pos] == '\n')) {
            ++pos;
        }
        if (pos >= value.size()) break;
        std::size_t end = pos;
        while (end < value.size() && value[end] != ' ' && value[end] != '\t' &&
               value[end] != '\r' && value[end] != '\n') {
            ++end;
        }
        // RFC 5322 §2.1.1: a line MUST NOT exceed 998 characters.
        std::string_view token = value.substr(pos, std::min<std::size_t>(end - pos, 990));
        if (has_token && col + 1 + token.size() > 78) {
            line += "\r\n";
            col = 0;
        }
        has_token = true;
        line += ' ';
        line += token;
        col += 1 + token.size();
        pos = end;
    }
    line += "\r\n";
    return line;
}

std::string utf8_addr_xtext(std::string_view utf8) {
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        unsigned char c = static_cast<unsigned char>(utf8[i]);
        std::size_t n = std::min(utf8_len(c), utf8.size() - i);
        if (c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\') {
            out += static_cast<char>(c);
            i += 1;
            continue;
        }
        std::uint32_t cp = n == 1 ? c : (c & (0x7f >> n));
        for (std::size_t k = 1; k < n; ++k) {
            cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3f);
        }
        out += fmt::format("\\x{{{:X}}}", cp);
        i += n;
    }
    return out;
}

std::string ascii_only(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c == '\r' || c == '\n' || c == '\t') {
            out += ' ';
        } else if (c < 0x20 || c >= 0x7f) {
            out += '?';
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string rfc5322_date(std::int64_t unix_ms) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm = utc(unix_ms);
    return fmt::format("{}, {} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                       kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string human_date(std::int64_t unix_ms, std::int32_t utc_offset_s) {
    std::tm tm = utc(unix_ms + std::int64_t{utc_offset_s} * 1000);
    const std::int32_t a = utc_offset_s < 0 ? -utc_offset_s : utc_offset_s;
    return fmt::format("{}-{:02}-{:02} {:02}:{:02} (UTC{}{:02}:{:02})", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       utc_offset_s < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

}  // namespace chainmail::bounce
