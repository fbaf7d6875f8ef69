#include "relay/inbound/smtp_parse.hpp"
#include "policy/smtp_codec.hpp"

#include <array>
#include <limits>

namespace chainmail::inbound {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool istarts(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_alpha(unsigned char c) {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
bool is_alnum(unsigned char c) {
    return is_alpha(c) || is_digit(c);
}

// RFC 5322 §3.2.3 atext, plus UTF-8 octets under SMTPUTF8 (RFC 6531 §3.3).
bool is_atext(unsigned char c, bool utf8) {
    if (is_alnum(c)) return true;
    if (c >= 0x80) return utf8;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
           std::string_view::npos;
}

bool valid_dot_string(std::string_view s, bool utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (char c : s) {
        if (c == '.') {
            if (prev == '.') return false;
        } else if (!is_atext(static_cast<unsigned char>(c), utf8)) {
            return false;
        }
        prev = c;
    }
    return true;
}

// RFC 5321 §4.1.2 Quoted-string: qtextSMTP (32, 33, 35-91, 93-126) or quoted-pairSMTP.
bool valid_quoted(std::string_view s, bool utf8) {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            if (i + 2 >= s.size()) return false;
            auto n = static_cast<unsigned char>(s[++i]);
            if (n < 32 || n > 126) return false;
        } else if (c == '"' || c < 32 || c == 127 || (c >= 0x80 && !utf8)) {
            return false;
        }
    }
    return true;
}

bool valid_domain(std::string_view d, bool utf8) {
    if (d.empty() || d.size() > 255) return false;
    if (d.front() == '[') {  // address literal; the content is checked loosely
        if (d.back() != ']' || d.size() < 3) return false;
        for (char c : d.substr(1, d.size() - 2)) {
            auto u = static_cast<unsigned char>(c);
            if (u < 33 || u > 126 || c == '[' || c == ']' || c == '\\') return false;
        }
        return true;
    }
    std::size_t start = 0;
    while (start <= d.size()) {
        std::size_t dot = d.find('.', start);
        std::string_view label =
            d.substr(start, dot == std::string_view::npos ? d.npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label) {
            auto u = static_cast<unsigned char>(c);
            if (!(is_alnum(u) || c == '-' || (u >= 0x80 && utf8))) return false;
        }
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

bool has_non_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    return false;
}

// Splits "<path> params" after "FROM:" / "TO:"; the path is returned with
// its brackets removed and a source route dropped (RFC 5321 §4.1.1.3 allows
// it, and says it is ignored).
struct PathAndRest {
    std::string_view path;
    std::string_view rest;
    bool ok = false;
};

PathAndRest split_path(std::string_view s) {
    PathAndRest r;
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);  // lenient, as Postfix
    if (s.empty() || s.front() != '<') return r;
    bool quoted = false;
    std::size_t i = 1;
    for (; i < s.size(); ++i) {
        if (quoted && s[i] == '\\') {
            ++i;
        } else if (s[i] == '"') {
            quoted = !quoted;
        } else if (!quoted && s[i] == '>') {
            break;
        }
    }
    if (i >= s.size()) return r;
    r.path = s.substr(1, i - 1);
    r.rest = s.substr(i + 1);
    if (!r.rest.empty() && r.rest.front() != ' ') return r;
    if (!r.path.empty() && r.path.front() == '@') {
        std::size_t colon = r.path.find(':');
        if (colon == std::string_view::npos) return r;
        r.path.remove_prefix(colon + 1);
    }
    r.ok = true;
    return r;
}

struct Param {
    std::string_view key;
    std::string_view value;
    bool has_value = false;
};

// RFC 5321 §4.1.2 esmtp-param, with UTF-8 values allowed (RFC 6531 §3.3).
bool next_param(std::string_view& rest, Param& p) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) return false;
    std::size_t end = rest.find(' ');
    std::string_view tok = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    std::size_t eq = tok.find('=');
    p.key = tok.substr(0, eq);
    p.has_value = eq != std::string_view::npos;
    p.value = p.has_value ? tok.substr(eq + 1) : std::string_view{};
    return true;
}

bool valid_keyword(std::string_view k) {
    if (k.empty() || !is_alnum(static_cast<unsigned char>(k.front()))) return false;
    for (char c : k)
        if (!is_alnum(static_cast<unsigned char>(c)) && c != '-') return false;
    return true;
}

bool valid_value(std::string_view v) {
    if (v.empty()) return false;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u == '=' || u == 127) return false;
    }
    return true;
}

ParseError syntax(std::string text) {
    return {501, std::move(text)};
}
ParseError bad_param(std::string_view key) {
    return {501, "5.5.4 Invalid value or duplicate of parameter " + std::string(key)};
}
ParseError unknown_param(std::string_view key) {
    // RFC 5321 §4.1.1.11: 555 for parameters that are not recognised.
    return {555, "5.5.4 Unsupported parameter " + std::string(key)};
}

}  // namespace

Command parse_command(std::string_view line) {
    static constexpr std::array<std::pair<std::string_view, Verb>, 12> kVerbs{{
        {"EHLO", Verb::Ehlo},
        {"HELO", Verb::Helo},
        {"MAIL", Verb::Mail},
        {"RCPT", Verb::Rcpt},
        {"DATA", Verb::Data},
        {"RSET", Verb::Rset},
        {"NOOP", Verb::Noop},
        {"QUIT", Verb::Quit},
        {"VRFY", Verb::Vrfy},
        {"HELP", Verb::Help},
        {"STARTTLS", Verb::StartTls},
        {"AUTH", Verb::Auth},
    }};
    std::size_t sp = line.find(' ');
    std::string_view word = line.substr(0, sp);
    Command c;
    for (const auto& [name, verb] : kVerbs)
        if (iequals(word, name)) c.verb = verb;
    if (sp != std::string_view::npos) c.arg = line.substr(sp + 1);
    // MAIL and RCPT carry their keyword in the argument: "MAIL FROM:<>".
    return c;
}

std::variant<MailParams, ParseError> parse_mail(std::string_view arg) {
    if (!istarts(arg, "FROM:")) return syntax("5.5.2 Syntax: MAIL FROM:<address>");
    PathAndRest pr = split_path(arg.substr(5));
    if (!pr.ok) return syntax("5.5.2 Syntax: MAIL FROM:<address>");
    MailParams m;
    bool seen_size = false, seen_body = false, seen_ret = false, seen_envid = false,
         seen_auth = false;
    Param p;
    std::string_view rest = pr.rest;
    while (next_param(rest, p)) {
        if (!valid_keyword(p.key) || (p.has_value && !valid_value(p.value)))
            return syntax("5.5.4 Syntax error in parameters");
        if (iequals(p.key, "SIZE")) {  // RFC 1870 §6: size-value ::= 1*20DIGIT
            if (seen_size || p.value.empty() || p.value.size() > 20) return bad_param("SIZE");
            std::uint64_t v = 0;
            for (char c : p.value) {
                if (!is_digit(static_cast<unsigned char>(c))) return bad_param("SIZE");
                auto d = static_cast<std::uint64_t>(c - '0');
                v = v > (std::numeric_limits<std::uint64_t>::max() - d) / 10
                        ? std::numeric_limits<std::uint64_t>::max()
                        : v * 10 + d;
            }
            m.size = v;
            seen_size = true;
        } else if (iequals(p.key, "BODY")) {  // RFC 6152
            if (seen_body) return bad_param("BODY");
            if (iequals(p.value, "7BIT")) {
                m.body = spool::BodyType::SevenBit;
            } else if (iequals(p.value, "8BITMIME")) {
                m.body = spool::BodyType::EightBitMime;
            } else {
                return bad_param("BODY");
            }
            seen_body = true;
        } else if (iequals(p.key, "SMTPUTF8")) {  // RFC 6531 §3.4: no value
            if (m.smtputf8 || p.has_value) return bad_param("SMTPUTF8");
            m.smtputf8 = true;
        } else if (iequals(p.key, "REQUIRETLS")) {  // RFC 8689 §3: no value
            if (m.requiretls || p.has_value) return bad_param("REQUIRETLS");
            m.requiretls = true;
        } else if (iequals(p.key, "RET")) {  // RFC 3461 §4.3
            if (seen_ret) return bad_param("RET");
            if (iequals(p.value, "FULL")) {
                m.ret = spool::Ret::Full;
            } else if (iequals(p.value, "HDRS")) {
                m.ret = spool::Ret::Hdrs;
            } else {
                return bad_param("RET");
            }
            seen_ret = true;
        } else if (iequals(p.key, "ENVID")) {
            // RFC 3461 §4.4: xtext, at most 100 characters, printable ASCII once decoded.
            if (seen_envid || p.value.size() > 100) return bad_param("ENVID");
            auto d = policy::xtext_decode(p.value);
            if (!d || d->empty()) return bad_param("ENVID");
            for (char c : *d)
                if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126)
                    return bad_param("ENVID");
            m.envid = std::move(*d);
            seen_envid = true;
        } else if (iequals(p.key, "AUTH")) {
            // RFC 4954 §5: AUTH=<> or an xtext mailbox; we record our own login instead.
            if (seen_auth || (p.value != "<>" && !policy::xtext_valid(p.value)))
                return bad_param("AUTH");
            seen_auth = true;
        } else {
            return unknown_param(p.key);
        }
    }
    if (!pr.path.empty()) {
        if (has_non_ascii(pr.path) && !m.smtputf8)
            return ParseError{553, "5.6.7 Non-ASCII address requires SMTPUTF8"};
        if (!valid_mailbox(pr.path, m.smtputf8))
            return ParseError{553, "5.1.7 Invalid sender address syntax"};
    }
    m.address = std::string(pr.path);
    return m;
}

std::variant<RcptParams, ParseError> parse_rcpt(std::string_view arg, bool smtputf8) {
    if (!istarts(arg, "TO:")) return syntax("5.5.2 Syntax: RCPT TO:<address>");
    PathAndRest pr = split_path(arg.substr(3));
    if (!pr.ok || pr.path.empty()) return syntax("5.5.2 Syntax: RCPT TO:<address>");
    RcptParams r;
    bool seen_notify = false, seen_orcpt = false;
    Param p;
    std::string_view rest = pr.rest;
    while (next_param(rest, p)) {
        if (!valid_keyword(p.key) || (p.has_value && !valid_value(p.value)))
            return syntax("5.5.4 Syntax error in parameters");
        if (iequals(p.key, "NOTIFY")) {
            // RFC 3461 §4.1: "NEVER" alone, or a list of SUCCESS, FAILURE, DELAY.
            if (seen_notify || p.value.empty()) return bad_param("NOTIFY");
            std::string_view v = p.value;
            while (true) {
                std::size_t comma = v.find(',');
                std::string_view item = v.substr(0, comma);
                std::uint8_t bit = 0;
                if (iequals(item, "NEVER")) bit = spool::kNotifyNever;
                if (iequals(item, "SUCCESS")) bit = spool::kNotifySuccess;
                if (iequals(item, "FAILURE")) bit = spool::kNotifyFailure;
                if (iequals(item, "DELAY")) bit = spool::kNotifyDelay;
                if (bit == 0 || (r.notify & bit)) return bad_param("NOTIFY");
                r.notify |= bit;
                if (comma == std::string_view::npos) break;
                v.remove_prefix(comma + 1);
            }
            if ((r.notify & spool::kNotifyNever) && r.notify != spool::kNotifyNever)
                return bad_param("NOTIFY");
            seen_notify = true;
        } else if (iequals(p.key, "ORCPT")) {
            // RFC 3461 §4.2: addr-type ";" xtext, at most 500 characters.
            if (seen_orcpt || p.value.size() > 500) return bad_param("ORCPT");
            std::size_t semi = p.value.find(';');
            if (semi == 0 || semi == std::string_view::npos) return bad_param("ORCPT");
            for (char c : p.value.substr(0, semi))
                if (!is_alnum(static_cast<unsigned char>(c)) && c != '-') return bad_param("ORCPT");
            std::string_view x = p.value.substr(semi + 1);
            if (x.empty() || !policy::xtext_valid(x)) return bad_param("ORCPT");
            r.orcpt = std::string(p.value);
            seen_orcpt = true;
        } else {
            return unknown_param(p.key);
        }
    }
    if (has_non_ascii(pr.path) && !smtputf8)
        return ParseError{553, "5.6.7 Non-ASCII address requires SMTPUTF8"};
    // RFC 5321 §4.1.1.3: "Postmaster" without a domain must be accepted.
    if (!iequals(pr.path, "postmaster") && !valid_mailbox(pr.path, smtputf8))
        return ParseError{553, "5.1.3 Invalid recipient address syntax"};
    r.address = std::string(pr.path);
    return r;
}

bool valid_mailbox(std::string_view s, bool utf8) {
    std::size_t at = s.rfind('@');
    if (at == std::string_view::npos || at == 0) return false;
    std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
    if (local.size() > 64 && !utf8) return false;  // RFC 5321 §4.5.3.1.1
    bool local_ok =
        local.front() == '"' ? valid_quoted(local, utf8) : valid_dot_string(local, utf8);
    return local_ok && valid_domain(domain, utf8);
}

}  // namespace chainmail::inbound
