// log_line: a small validating JSON scanner, because parsing every line of a
// month of log into a DOM costs more than the rest of `report` together.
#include "relay/log/log_line.hpp"

namespace chainmail::log {

namespace {

constexpr int kMaxDepth = 8;

enum class Kind { String, Number, Other };

struct Value {
    Kind kind = Kind::Other;
    JsonText text;         // Kind::String
    std::string_view raw;  // the value's whole text
};

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char fold(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

struct Scanner {
    std::string_view s;
    std::size_t i = 0;

    bool at(char c) const { return i < s.size() && s[i] == c; }
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    }

    // RFC 8259 §7: control characters must be escaped; \u takes four hex digits.
    bool string(JsonText& out) {
        if (!at('"')) return false;
        const std::size_t start = ++i;
        bool escaped = false;
        while (i < s.size()) {
            const unsigned char c = static_cast<unsigned char>(s[i]);
            if (c == '"') {
                out.raw = s.substr(start, i - start);
                out.escaped = escaped;
                ++i;
                return true;
            }
            if (c < 0x20) return false;
            if (c >= 0x80) {
                if (!utf8(i)) return false;
                continue;
            }
            if (c == '\\') {
                escaped = true;
                if (++i >= s.size()) return false;
                switch (s[i]) {
                    case '"':
                    case '\\':
                    case '/':
                    case 'b':
                    case 'f':
                    case 'n':
                    case 'r':
                    case 't':
                        break;
                    case 'u': {
                        // RFC 8259 §7: a surrogate comes only as a high-low pair.
                        const int cp = hex4_at(i + 1);
                        if (cp < 0) return false;
                        i += 4;
                        if (cp >= 0xDC00 && cp < 0xE000) return false;
                        if (cp >= 0xD800 && cp < 0xDC00) {
                            if (i + 2 >= s.size() || s[i + 1] != '\\' || s[i + 2] != 'u')
                                return false;
                            const int lo = hex4_at(i + 3);
                            if (lo < 0xDC00 || lo >= 0xE000) return false;
                            i += 6;
                        }
                        break;
                    }
                    default:
                        return false;
                }
            }
            ++i;
        }
        return false;
    }

    // Four hex digits at `at`, or -1.
    int hex4_at(std::size_t at) const {
        if (at + 4 > s.size()) return -1;
        int v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const int d = hex_digit(s[at + k]);
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        return v;
    }

    // RFC 3629 §4: one well-formed UTF-8 sequence at i; advances past it.
    bool utf8(std::size_t& at) const {
        const auto b = [&](std::size_t k) {
            return at + k < s.size() ? static_cast<unsigned char>(s[at + k]) : 0u;
        };
        const unsigned c = b(0);
        unsigned lo = 0x80, hi = 0xBF;
        std::size_t n = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (b(1) < lo || b(1) > hi) return false;
        for (std::size_t k = 2; k <= n; ++k)
            if (b(k) < 0x80 || b(k) > 0xBF) return false;
        at += n + 1;
        return true;
    }

    bool digits() {
        const std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        return i > start;
    }

    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    bool number() {
        if (at('-')) ++i;
        if (at('0')) {
            ++i;
        } else if (!digits()) {
            return false;
        }
        if (at('.')) {
            ++i;
            if (!digits()) return false;
        }
        if (at('e') || at('E')) {
            ++i;
            if (at('+') || at('-')) ++i;
            if (!digits()) return false;
        }
        return true;
    }

    bool literal(std::string_view w) {
        if (s.substr(i, w.size()) != w) return false;
        i += w.size();
        return true;
    }

    bool value(int depth, Value& v) {
        const std::size_t start = i;
        bool ok = false;
        v.kind = Kind::Other;
        if (i >= s.size()) return false;
        switch (s[i]) {
            case '"':
                v.kind = Kind::String;
                ok = string(v.text);
                break;
            case '{':
                ok = object(depth + 1, nullptr);
                break;
            case '[':
                ok = array(depth + 1);
                break;
            case 't':
                ok = literal("true");
                break;
            case 'f':
                ok = literal("false");
                break;
            case 'n':
                ok = literal("null");
                break;
            default:
                v.kind = Kind::Number;
                ok = number();
                break;
        }
        v.raw = s.substr(start, i - start);
        return ok;
    }

    bool array(int depth) {
        if (depth > kMaxDepth || !at('[')) return false;
        ++i;
        ws();
        if (at(']')) {
            ++i;
            return true;
        }
        for (;;) {
            Value v;
            ws();
            if (!value(depth, v)) return false;
            ws();
            if (at(']')) {
                ++i;
                return true;
            }
            if (!at(',')) return false;
            ++i;
        }
    }

    // `rec` is set for the top level and for "tls" inside it.
    bool object(int depth, LogRecord* rec, bool tls = false) {
        if (depth > kMaxDepth || !at('{')) return false;
        ++i;
        ws();
        if (at('}')) {
            ++i;
            return true;
        }
        for (;;) {
            JsonText key;
            ws();
            if (!string(key)) return false;
            ws();
            if (!at(':')) return false;
            ++i;
            ws();
            if (rec && !tls && key.raw == "tls" && at('{')) {
                rec->has_tls = true;
                if (!object(depth + 1, rec, true)) return false;
            } else {
                Value v;
                if (!value(depth, v)) return false;
                if (rec) store(*rec, tls, key.raw, v);
            }
            ws();
            if (at('}')) {
                ++i;
                return true;
            }
            if (!at(',')) return false;
            ++i;
        }
    }

    static void store(LogRecord& r, bool tls, std::string_view key, const Value& v) {
        if (v.kind == Kind::Number) {
            std::string_view* n = key == "port"      ? &r.port
                                  : key == "attempt" ? &r.attempt
                                  : key == "delay_s" ? &r.delay_s
                                  : key == "size"    ? &r.size
                                                     : nullptr;
            if (n && !tls) *n = v.raw;
            return;
        }
        if (key == "rcpts" && !tls && !v.raw.empty() && v.raw.front() == '[') {
            r.rcpts = v.raw;
            return;
        }
        JsonText* f = nullptr;
        if (tls) {
            f = key == "version"  ? &r.tls_version
                : key == "cipher" ? &r.tls_cipher
                : key == "auth"   ? &r.tls_auth
                                  : nullptr;
        } else {
            f = key == "ts"             ? &r.ts
                : key == "event"        ? &r.event
                : key == "queue_id"     ? &r.queue_id
                : key == "message_id"   ? &r.message_id
                : key == "from"         ? &r.from
                : key == "rcpt"         ? &r.rcpt
                : key == "partner"      ? &r.partner
                : key == "policy"       ? &r.policy
                : key == "host"         ? &r.host
                : key == "ip"           ? &r.ip
                : key == "dsn"          ? &r.dsn
                : key == "reply"        ? &r.reply
                : key == "would_fail"   ? &r.would_fail
                : key == "ndr_queue_id" ? &r.ndr_queue_id
                : key == "reason"       ? &r.reason
                : key == "client_ip"    ? &r.client_ip
                                        : nullptr;
        }
        // A repeated key: the last one counts (as in nlohmann::json), even when it is no string.
        if (f) *f = v.kind == Kind::String ? v.text : JsonText{};
    }
};

void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

unsigned hex4(std::string_view s, std::size_t at) {
    unsigned v = 0;
    for (std::size_t k = 0; k < 4 && at + k < s.size(); ++k) {
        const int d = hex_digit(s[at + k]);
        v = v * 16 + static_cast<unsigned>(d < 0 ? 0 : d);
    }
    return v;
}

}  // namespace

std::string json_unescape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\' || i + 1 >= raw.size()) {
            out.push_back(raw[i]);
            continue;
        }
        const char c = raw[++i];
        switch (c) {
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                unsigned cp = hex4(raw, i + 1);
                i += 4;
                // RFC 8259 §7: a character outside the BMP is a surrogate pair.
                if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < raw.size() && raw[i + 1] == '\\' &&
                    raw[i + 2] == 'u') {
                    const unsigned lo = hex4(raw, i + 3);
                    if (lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                }
                put_utf8(out, cp);
                break;
            }
            default:  // " \ /
                out.push_back(c);
                break;
        }
    }
    return out;
}

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            switch (c) {
                case '\b':
                    out += "\\b";
                    break;
                case '\f':
                    out += "\\f";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    out += "\\u00";
                    out.push_back(kHex[u >> 4]);
                    out.push_back(kHex[u & 15]);
            }
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string JsonText::str() const {
    return escaped ? json_unescape(raw) : std::string(raw);
}

bool JsonText::equals(std::string_view plain, bool fold_case) const {
    if (escaped) {
        const std::string d = json_unescape(raw);
        return JsonText{d, false}.equals(plain, fold_case);
    }
    if (raw.size() != plain.size()) return false;
    if (!fold_case) return raw == plain;
    for (std::size_t k = 0; k < raw.size(); ++k)
        if (fold(raw[k]) != fold(plain[k])) return false;
    return true;
}

bool parse_line(std::string_view line, LogRecord& out) {
    out = LogRecord{};
    Scanner sc{line};
    sc.ws();
    if (!sc.object(1, &out)) return false;
    sc.ws();
    if (sc.i != line.size()) return false;
    return !out.ts.empty() && !out.event.empty();
}

std::size_t next_array_string(std::string_view array, std::size_t pos, JsonText& out) {
    Scanner sc{array, pos};
    if (pos == 0) {
        sc.ws();
        if (!sc.at('[')) return std::string_view::npos;
        ++sc.i;
    }
    for (;;) {
        sc.ws();
        if (sc.i >= array.size() || sc.at(']')) return std::string_view::npos;
        if (sc.at(',')) {
            ++sc.i;
            continue;
        }
        Value v;
        if (!sc.value(1, v)) return std::string_view::npos;
        if (v.kind == Kind::String) {
            out = v.text;
            return sc.i;
        }
    }
}

}  // namespace chainmail::log
