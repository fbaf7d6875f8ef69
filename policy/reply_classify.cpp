#include "policy/reply_classify.hpp"

#include <cctype>

namespace chainmail::policy {
namespace {

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// Up to three digits without a leading zero (RFC 3463 §2), returns the length.
std::size_t number(std::string_view s, std::size_t max) {
    std::size_t n = 0;
    while (n < s.size() && n < max && digit(s[n])) ++n;
    if (n > 1 && s[0] == '0') return 0;
    if (n < s.size() && digit(s[n])) return 0;
    return n;
}

}  // namespace

ReplyClass classify(const SmtpReply& reply) {
    // RFC 5321 §4.2.1: the first digit decides; 1yz is never used in SMTP.
    if (reply.code >= 200 && reply.code < 400) return ReplyClass::Ok;
    if (reply.code >= 500 && reply.code < 600) return ReplyClass::PermFail;
    return ReplyClass::TempFail;  // 4xx, and anything we do not understand
}

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

std::optional<SmtpReply> parse_reply_line(std::string_view line, bool& last) {
    if (line.size() >= 2 && line.substr(line.size() - 2) == "\r\n") line.remove_suffix(2);
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]))
        return std::nullopt;
    if (line[0] < '2' || line[0] > '5') return std::nullopt;
    SmtpReply r;
    r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() == 3) {
        last = true;
        return r;
    }
    if (line[3] != ' ' && line[3] != '-') return std::nullopt;
    last = line[3] == ' ';
    std::string_view rest = line.substr(4);
    if (auto enhanced = parse_enhanced_status(rest);
        enhanced && (*enhanced)[0] == line[0]) {  // RFC 3463 §2: the classes must agree
        r.enhanced = *enhanced;
        rest.remove_prefix(enhanced->size());
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
            rest.remove_prefix(1);
    }
    r.text = std::string(rest);
    return r;
}

std::string_view to_string(ReplyClass c) {
    switch (c) {
        case ReplyClass::Ok:
            return "ok";
        case ReplyClass::TempFail:
            return "temp-fail";
        case ReplyClass::PermFail:
            return "perm-fail";
    }
    return "?";
}

}  // namespace chainmail::policy
