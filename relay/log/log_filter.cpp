#include "relay/log/log_filter.hpp"

#include "relay/log/log_time.hpp"

namespace chainmail::log {

namespace {

char fold(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (fold(a[k]) != fold(b[k])) return false;
    return true;
}

// The text every matching address holds: "@domain" for a domain.
std::string address_needle(const std::string& want) {
    if (want.find('@') != std::string::npos || (!want.empty() && want.front() == '.'))
        return json_escape(want);
    std::string n = "@";
    n += json_escape(want);
    return n;
}

bool text_matches(const JsonText& t, std::string_view want) {
    return t.escaped ? address_matches(t.str(), want) : address_matches(t.raw, want);
}

}  // namespace

bool address_matches(std::string_view addr, std::string_view want) {
    if (want.find('@') != std::string_view::npos) return iequal(addr, want);
    const std::size_t at = addr.rfind('@');
    const std::string_view domain = at == std::string_view::npos ? addr : addr.substr(at + 1);
    if (!want.empty() && want.front() == '.')  // ".x": every subdomain of x, as in partner rules
        return domain.size() > want.size() &&
               iequal(domain.substr(domain.size() - want.size()), want);
    return iequal(domain, want);
}

Prefilter prefilter_for(const LogFilter& f) {
    Prefilter p;
    if (f.since_ms) p.ts_min = iso_ms(*f.since_ms);
    if (f.until_ms) p.ts_max = iso_ms(*f.until_ms);
    if (!f.queue_id.empty()) {
        p.needle = json_escape(f.queue_id);
        p.fold = true;
    } else if (!f.rcpt.empty()) {
        p.needle = address_needle(f.rcpt);
        p.fold = true;
    } else if (f.from == "<>") {
        p.needle = "\"from\":\"\"";
    } else if (!f.from.empty()) {
        p.needle = address_needle(f.from);
        p.fold = true;
    } else if (!f.partner.empty()) {
        p.needle = "\"partner\":\"";
        p.needle += json_escape(f.partner);
        p.needle += '"';
    } else if (!f.status.empty()) {
        p.needle = "\"event\":\"";
        p.needle += json_escape(f.status);
        p.needle += '"';
    }
    return p;
}

bool matches(const LogFilter& f, const LogRecord& r) {
    if (!f.status.empty() && !r.event.equals(f.status)) return false;
    if (!f.partner.empty() && !r.partner.equals(f.partner)) return false;
    if (!f.queue_id.empty() && !r.queue_id.equals(f.queue_id, true) &&
        !r.ndr_queue_id.equals(f.queue_id, true))
        return false;
    if (!f.from.empty()) {
        if (f.from == "<>" ? !r.from.empty() : !text_matches(r.from, f.from)) return false;
    }
    if (!f.rcpt.empty()) {
        bool any = !r.rcpt.empty() && text_matches(r.rcpt, f.rcpt);
        if (!any && !r.rcpts.empty())
            for_each_string(r.rcpts,
                            [&](const JsonText& t) { any = any || text_matches(t, f.rcpt); });
        if (!any) return false;
    }
    return true;
}

}  // namespace chainmail::log
