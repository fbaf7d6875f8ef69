#include "policy/mta_sts.hpp"
#include "policy/smtp_codec.hpp"

#include <cctype>

namespace chainmail::policy {
namespace {

bool alpha_digit(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool wsp(char c) {
    return c == ' ' || c == '\t';
}

// §3.1/§3.2 ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool ext_name(std::string_view s) {
    if (s.empty() || s.size() > 32 || !alpha_digit(s[0])) return false;
    for (char c : s)
        if (!alpha_digit(c) && c != '_' && c != '-' && c != '.') return false;
    return true;
}

std::string_view trim_wsp(std::string_view s) {
    while (!s.empty() && wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && wsp(s.back())) s.remove_suffix(1);
    return s;
}

// RFC 5321 Domain: labels of letters, digits and hyphens, not starting or
// ending with a hyphen; A-labels for IDNs (§3.2).
bool domain(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t dot = s.find('.', start);
        if (dot == std::string_view::npos) dot = s.size();
        const std::string_view label = s.substr(start, dot - start);
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!alpha_digit(c) && c != '-') return false;
        start = dot + 1;
    }
    return true;
}

// Whether a TXT string begins with the sts-version field (§3.1).
bool sts_version_first(std::string_view r) {
    constexpr std::string_view v = "v=STSv1";
    if (r.substr(0, v.size()) != v) return false;
    return r.size() == v.size() || r[v.size()] == ';' || wsp(r[v.size()]);
}

// sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
StsRecord parse_one_record(std::string_view r) {
    StsRecord out;
    r.remove_prefix(7);  // "v=STSv1"
    std::optional<std::string> id;
    bool any_field = false;
    while (true) {
        // sts-field-delim = *WSP ";" *WSP
        std::string_view rest = trim_wsp(r);
        if (rest.empty()) break;
        if (rest.front() != ';') {
            out.error = "the MTA-STS record has text where ';' belongs";
            return out;
        }
        rest.remove_prefix(1);
        rest = trim_wsp(rest);
        if (rest.empty()) break;  // a trailing delimiter
        const std::size_t end = rest.find(';');
        std::string_view field = trim_wsp(rest.substr(0, end));
        r = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
        const std::size_t eq = field.find('=');
        if (eq == std::string_view::npos) {
            out.error = "the MTA-STS record has a field without '='";
            return out;
        }
        const std::string_view name = field.substr(0, eq), value = field.substr(eq + 1);
        any_field = true;
        if (name == "id") {
            if (id) {
                out.error = "the MTA-STS record has two ids";
                return out;
            }
            // sts-id = %s"id=" 1*32(ALPHA / DIGIT)
            bool ok = !value.empty() && value.size() <= 32;
            for (char c : value) ok = ok && alpha_digit(c);
            if (!ok) {
                out.error = "the MTA-STS record's id is not 1 to 32 letters and digits";
                return out;
            }
            id = std::string(value);
            continue;
        }
        // sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
        bool ok = ext_name(name) && !value.empty();
        for (char c : value) ok = ok && c >= 0x21 && c <= 0x7E && c != ';' && c != '=';
        if (!ok) {
            out.error = "the MTA-STS record has a malformed field";
            return out;
        }
    }
    if (!any_field || !id) {
        out.error = "the MTA-STS record has no id";
        return out;
    }
    out.id = std::move(id);
    return out;
}

}  // namespace

StsRecord parse_sts_record(const std::vector<std::string>& txt) {
    std::vector<std::string_view> sts;
    for (const auto& r : txt)
        if (sts_version_first(r)) sts.push_back(r);
    if (sts.empty()) return {std::nullopt, "no v=STSv1 record"};
    if (sts.size() > 1) return {std::nullopt, std::to_string(sts.size()) + " v=STSv1 records"};
    return parse_one_record(sts.front());
}

StsParse parse_sts_policy(std::string_view body) {
    StsParse out;
    StsPolicy p;
    bool have_version = false, have_mode = false, have_max_age = false;
    int line_no = 0;
    auto bad = [&](const std::string& what) {
        out.error = "line " + std::to_string(line_no) + ": " + what;
        return out;
    };
    while (!body.empty()) {
        ++line_no;
        // sts-policy-term = LF / CRLF
        const std::size_t lf = body.find('\n');
        std::string_view line = body.substr(0, lf);
        body = lf == std::string_view::npos ? std::string_view{} : body.substr(lf + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        // field = name ":" *WSP value *WSP
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return bad("no ':' in the line");
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim_wsp(line.substr(colon + 1));
        for (char c : line)
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
                return bad("a control character in the line");
        if (name == "version") {
            if (have_version) return bad("version appears twice");
            if (value != "STSv1") return bad("version is not STSv1");
            have_version = true;
        } else if (name == "mode") {
            if (have_mode) return bad("mode appears twice");
            if (value == "enforce") {
                p.mode = MtaStsFacts::Mode::Enforce;
            } else if (value == "testing") {
                p.mode = MtaStsFacts::Mode::Testing;
            } else if (value == "none") {
                p.mode = MtaStsFacts::Mode::None;
            } else {
                return bad("mode is not enforce, testing or none");
            }
            have_mode = true;
        } else if (name == "max_age") {
            if (have_max_age) return bad("max_age appears twice");
            // sts-policy-max-age-value = 1*10(DIGIT), at most kStsMaxAge
            bool ok = !value.empty() && value.size() <= 10;
            std::int64_t n = 0;
            for (char c : value) {
                ok = ok && std::isdigit(static_cast<unsigned char>(c));
                if (ok) n = n * 10 + (c - '0');
            }
            if (!ok) return bad("max_age is not a number of seconds");
            if (n > kStsMaxAge) return bad("max_age is above 31557600");
            p.max_age = n;
            have_max_age = true;
        } else if (name == "mx") {
            // sts-policy-mx-value = ["*."] Domain
            const std::string_view d = value.substr(0, 2) == "*." ? value.substr(2) : value;
            if (!domain(d)) return bad("mx is not a host name or *.domain pattern");
            p.mx.push_back(ascii_lower(value));
        } else if (!ext_name(name)) {
            return bad("a malformed field name");
        }  // §3.2: unknown fields are ignored
    }
    if (!have_version) return bad("version is missing");
    if (!have_mode) return bad("mode is missing");
    if (!have_max_age) return bad("max_age is missing");
    // §3.2: mx is required at least once, except when the mode is none.
    if (p.mx.empty() && p.mode != MtaStsFacts::Mode::None) return bad("no mx");
    out.policy = std::move(p);
    return out;
}

StsStep sts_step(const std::optional<StsCached>& cached, const StsTxt& txt, std::int64_t now_s) {
    const bool valid = cached && cached->valid(now_s);
    switch (txt.state) {
        case StsTxt::State::NoRecord:
        case StsTxt::State::TempFail:
            // §3.3: no live policy, but a valid cached one: apply it.
            return valid ? StsStep::UseCache : StsStep::NoPolicy;
        case StsTxt::State::Record:
            if (valid && cached->id == txt.id && now_s - cached->fetched_s < kStsRefresh)
                return StsStep::UseCache;
            return StsStep::Fetch;
    }
    return StsStep::NoPolicy;
}

StsAfterFetch sts_after_fetch(const std::optional<StsCached>& cached, const std::string& id,
                              const std::optional<StsPolicy>& fetched, std::int64_t now_s) {
    StsAfterFetch out;
    if (!fetched) {
        // §3.3: a fetch that fails keeps a valid cached policy in force.
        if (cached && cached->valid(now_s)) {
            out.apply = cached;
        } else if (cached) {
            out.store = StsAfterFetch::Store::Drop;  // expired: nothing to keep
        }
        return out;
    }
    if (fetched->mode == MtaStsFacts::Mode::None) {
        // §8.3: publishing mode none is how a domain removes its policy.
        out.store = cached ? StsAfterFetch::Store::Drop : StsAfterFetch::Store::Keep;
        return out;
    }
    out.store = StsAfterFetch::Store::Replace;
    out.apply = StsCached{*fetched, id, now_s, now_s + fetched->max_age};
    return out;
}

MtaStsFacts sts_facts(const std::optional<StsCached>& applied, bool current, std::string note) {
    MtaStsFacts f;
    f.note = std::move(note);
    f.current = current;
    if (!applied) return f;
    f.mode = applied->policy.mode;
    f.mx_patterns = applied->policy.mx;
    f.id = applied->id;
    f.max_age = applied->policy.max_age;
    return f;
}

std::string_view to_string(MtaStsFacts::Mode m) {
    switch (m) {
        case MtaStsFacts::Mode::None:
            return "none";
        case MtaStsFacts::Mode::Enforce:
            return "enforce";
        case MtaStsFacts::Mode::Testing:
            return "testing";
    }
    return "none";
}

}  // namespace chainmail::policy
