#include "relay/inbound/received_header.hpp"

#include <strings.h>

#include <ctime>

namespace chainmail::inbound {

namespace {

// The HELO text goes into a header: keep it to printable ASCII without
// parentheses so it cannot break the comment syntax or the header.
std::string sanitize(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        out.push_back((u < 33 || u > 126 || c == '(' || c == ')' || c == '\\') ? '_' : c);
    }
    return out.empty() ? std::string("unknown") : out;
}

}  // namespace

std::string rfc5322_date(std::int64_t unix_ms) {
    std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

std::string received_header(const ReceivedInfo& r) {
    const bool tls = !r.tls_version.empty();
    const bool auth = !r.auth_user.empty();
    std::string proto = r.esmtp ? "ESMTP" : "SMTP";
    if (r.esmtp && tls) proto += "S";
    if (r.esmtp && auth) proto += "A";  // RFC 3848 §2
    std::string h = "Received: from " + sanitize(r.helo) + " ([" + r.client_ip + "])\r\n";
    if (tls)
        h += "\t(using " + r.tls_version + " with cipher " + r.tls_cipher + " (" +
             std::to_string(r.tls_bits) + "/" + std::to_string(r.tls_bits) + " bits))\r\n";
    if (auth) h += "\t(authenticated as " + sanitize(r.auth_user) + ")\r\n";
    h += "\tby " + r.by_host + " (chainmail) with " + proto + " id " + r.queue_id;
    if (!r.for_rcpt.empty()) h += "\r\n\tfor <" + r.for_rcpt + ">";
    h += "; " + rfc5322_date(r.unix_ms) + "\r\n";
    return h;
}

std::optional<std::string> find_message_id(std::string_view msg) {
    constexpr std::string_view kName = "Message-ID:";
    std::size_t pos = 0;
    while (pos < msg.size()) {
        std::size_t eol = msg.find("\r\n", pos);
        if (eol == std::string_view::npos || eol == pos) break;  // the end of the header
        std::string_view line = msg.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.size() < kName.size() || strncasecmp(line.data(), kName.data(), kName.size()) != 0)
            continue;
        std::string v(line.substr(kName.size()));
        // RFC 5322 §2.2.3: a folded field goes on in lines that start with WSP.
        while (pos < msg.size() && (msg[pos] == ' ' || msg[pos] == '\t')) {
            eol = msg.find("\r\n", pos);
            if (eol == std::string_view::npos) eol = msg.size();
            v += msg.substr(pos, eol - pos);
            pos = eol + 2;
        }
        const auto first = v.find_first_not_of(" \t");
        if (first == std::string::npos) return std::string();
        v = v.substr(first, v.find_last_not_of(" \t") - first + 1);
        if (v.size() > 998) v.resize(998);  // RFC 5322 §2.1.1
        return v;
    }
    return std::nullopt;
}

std::string make_message_id(std::string_view queue_id, std::string_view hostname) {
    std::string id = "<";
    id += queue_id;
    id += '@';
    id += hostname;
    id += '>';
    return id;
}

}  // namespace chainmail::inbound
