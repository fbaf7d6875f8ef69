#include "policy/smtp_reply.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace chainmail::policy {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Up to `max` digits without a leading zero (RFC 3463 §2), returns the length.
std::size_t number(std::string_view s, std::size_t max) {
    std::size_t n = 0;
    while (n < s.size() && n < max && is_digit(s[n])) ++n;
    if (n > 1 && s[0] == '0') return 0;
    if (n < s.size() && is_digit(s[n])) return 0;
    return n;
}

std::string upper(std::string_view s) {
    std::string u(s);
    std::transform(u.begin(), u.end(), u.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return u;
}

}  // namespace

std::optional<std::string> parse_enhanced_status(std::string_view text) {
    if (text.size() < 5) return std::nullopt;
    const char cls = text[0];
    if ((cls != '2' && cls != '4' && cls != '5') || text[1] != '.') return std::nullopt;
    std::size_t pos = 2;
    const std::size_t subject = number(text.substr(pos), 3);
    if (subject == 0) return std::nullopt;
    pos += subject;
    if (pos >= text.size() || text[pos] != '.') return std::nullopt;
    ++pos;
    const std::size_t detail = number(text.substr(pos), 3);
    if (detail == 0) return std::nullopt;
    pos += detail;
    // RFC 5321 §4.2: the code ends at the text's space, or at the end of the line.
    if (pos < text.size() && text[pos] != ' ' && text[pos] != '\t' && text[pos] != '\r' &&
        text[pos] != '\n')
        return std::nullopt;
    return std::string(text.substr(0, pos));
}

std::string SmtpReply::str() const {
    if (code == 0) return lines.empty() ? std::string() : lines.front();
    std::string s = std::to_string(code);
    if (!enhanced.empty()) s += " " + enhanced;
    for (const auto& l : lines) {
        if (!l.empty()) s += " " + l;
    }
    return s;
}

ReplyParser::Status ReplyParser::feed(std::string_view line) {
    if (line.ends_with("\r\n")) line.remove_suffix(2);
    // RFC 5321 §4.2: three digits, then '-' (more follows), ' ' or end of line.
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
        return Status::Malformed;
    int code = 0;
    std::from_chars(line.data(), line.data() + 3, code);
    if (code < 200 || code > 599) return Status::Malformed;
    const char sep = line.size() > 3 ? line[3] : ' ';
    if (sep != ' ' && sep != '-') return Status::Malformed;
    // RFC 5321 §4.2.1: every line of a multi-line reply carries the same code.
    if (started_ && code != reply_.code) return Status::Malformed;
    if (reply_.lines.size() >= kMaxLines) return Status::Malformed;
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
    if (!started_) {
        reply_.code = code;
        started_ = true;
        // RFC 3463 §2: the enhanced code's class agrees with the reply code's.
        if (auto enhanced = parse_enhanced_status(text);
            enhanced && (*enhanced)[0] - '0' == code / 100)
            reply_.enhanced = std::move(*enhanced);
    }
    if (!reply_.enhanced.empty() && text.substr(0, reply_.enhanced.size()) == reply_.enhanced) {
        text.remove_prefix(reply_.enhanced.size());
        if (!text.empty() && (text[0] == ' ' || text[0] == '\t')) text.remove_prefix(1);
    }
    reply_.lines.emplace_back(text);
    return sep == '-' ? Status::Incomplete : Status::Complete;
}

SmtpReply ReplyParser::take() {
    SmtpReply r = std::move(reply_);
    reply_ = SmtpReply{};
    started_ = false;
    return r;
}

Extensions parse_ehlo(const SmtpReply& r) {
    Extensions e;
    e.esmtp = r.positive();
    // The first line is the server's greeting name; keywords follow.
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        const std::string line = upper(r.lines[i]);
        const std::string key = line.substr(0, line.find(' '));
        if (key == "PIPELINING") e.pipelining = true;
        if (key == "CHUNKING") e.chunking = true;
        if (key == "STARTTLS") e.starttls = true;
        if (key == "8BITMIME") e.eightbitmime = true;
        if (key == "SMTPUTF8") e.smtputf8 = true;
        if (key == "DSN") e.dsn = true;
        if (key == "REQUIRETLS") e.requiretls = true;
        if (key == "ENHANCEDSTATUSCODES") e.enhancedstatuscodes = true;
        if (key == "SIZE") {
            e.size = true;
            if (line.size() > 5) {
                std::uint64_t n = 0;
                const auto* b = line.data() + 5;
                if (std::from_chars(b, line.data() + line.size(), n).ec == std::errc())
                    e.size_limit = n;
            }
        }
    }
    return e;
}

}  // namespace chainmail::policy
