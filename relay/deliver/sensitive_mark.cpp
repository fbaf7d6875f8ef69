// sensitive_mark: header scan for the `sensitive` marks.
#include "relay/deliver/sensitive_mark.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace chainmail::deliver {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

struct Field {
    std::string name;                // lower case
    std::string value;               // unfolded, trimmed
    std::size_t begin = 0, end = 0;  // byte range of the whole field, CRLFs included
};

// The header fields (RFC 5322 §2.2), up to the first empty line.
std::vector<Field> fields(std::string_view m) {
    std::vector<Field> out;
    std::size_t pos = 0;
    while (pos < m.size()) {
        std::size_t eol = m.find("\r\n", pos);
        if (eol == std::string_view::npos) eol = m.size();
        std::string_view line = m.substr(pos, eol - pos);
        if (line.empty()) break;  // end of the header section
        const std::size_t next = std::min(m.size(), eol + 2);
        if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
            out.back().value.push_back(' ');  // RFC 5322 §2.2.3 unfolding
            out.back().value.append(trim(line));
            out.back().end = next;
        } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
            out.push_back({lower(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))), pos, next});
        }
        pos = next;
    }
    return out;
}

}  // namespace

std::string sensitive_why(const config::Sensitive& sensitive, std::string_view message) {
    if (sensitive.subject_tags.empty() && sensitive.headers.empty()) return {};
    for (const Field& f : fields(message)) {
        const std::string value = lower(f.value);
        if (f.name == "subject")
            for (const std::string& tag : sensitive.subject_tags)
                if (!tag.empty() && value.find(lower(tag)) != std::string::npos)
                    return "subject tag \"" + tag + "\"";
        for (const auto& [name, values] : sensitive.headers) {
            if (lower(name) != f.name) continue;
            for (const std::string& v : values)
                if (lower(v) == value) return "header \"" + name + ": " + v + "\"";
        }
    }
    return {};
}

bool tls_required_no(std::string_view message) {
    // RFC 8689 §3: tls-required-field = "TLS-Required:" [FWS] "No" CRLF;
    // compared case-insensitively like other header field names and values.
    for (const Field& f : fields(message))
        if (f.name == "tls-required" && lower(f.value) == "no") return true;
    return false;
}

std::optional<std::string> strip_subject_tags(const config::Sensitive& sensitive,
                                              std::string_view message) {
    for (const Field& f : fields(message)) {
        if (f.name != "subject") continue;
        std::string value = f.value;
        bool changed = false;
        for (const std::string& tag : sensitive.subject_tags) {
            if (tag.empty()) continue;
            for (int guard = 0; guard < 16; ++guard) {
                const std::size_t at = lower(value).find(lower(tag));
                if (at == std::string::npos) break;
                std::size_t len = tag.size();
                if (at + len < value.size() && value[at + len] == ' ') ++len;
                value.erase(at, len);
                changed = true;
            }
        }
        if (!changed) return std::nullopt;
        std::string out(message.substr(0, f.begin));
        out.append("Subject: ");
        out.append(trim(value));
        out.append("\r\n");
        out.append(message.substr(f.end));
        return out;
    }
    return std::nullopt;
}

}  // namespace chainmail::deliver
