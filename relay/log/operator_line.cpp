// operator_line: Postfix-style key=value formatting of one attempt.
#include "relay/log/operator_line.hpp"

#include <fmt/format.h>
#include <cmath>

namespace chainmail::log {

namespace {

// Peer replies may span lines or carry control bytes: one event stays one line.
std::string one_line(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    return out;
}

// What the attempt reached, for tls=<required>:<achieved>; "" when no SMTP
// session was reached (DNS, connection, a session lost before its replies).
std::string achieved(const DeliveryEvent& e, policy::Reason reason) {
    if (e.tls) return e.tls->auth.empty() || e.tls->auth == "none" ? "encrypt" : e.tls->auth;
    if (policy::is_tls_failure(reason)) return std::string(policy::to_string(reason));
    // Reason::None: the peer's own reply decided, in a session without TLS.
    if (reason == policy::Reason::None && !e.host.empty()) return "none";
    return "";
}

}  // namespace

std::string postfix_delay(double seconds) {
    if (!(seconds > 0)) return "0";
    if (seconds < 10) return fmt::format("{:.2g}", seconds);
    return fmt::format("{:.0f}", std::floor(seconds));
}

std::string operator_line(const DeliveryEvent& e, policy::RcptOutcome outcome,
                          policy::Reason reason) {
    std::string line = fmt::format("{}: to=<{}>", e.queue_id, one_line(e.rcpt));
    if (!e.partner.empty()) line += fmt::format(", partner={}", one_line(e.partner));
    if (e.host.empty())
        line += ", relay=none";
    else if (e.ip.empty())
        line += fmt::format(", relay={}", one_line(e.host));
    else
        line += fmt::format(", relay={}[{}]:{}", one_line(e.host), e.ip, e.port);
    if (e.delay_s) line += ", delay=" + postfix_delay(*e.delay_s);
    if (!e.policy.empty()) {
        const std::string a = achieved(e, reason);
        line += fmt::format(", tls={}{}{}", e.policy, a.empty() ? "" : ":", a);
    }
    if (!e.dsn.empty()) line += ", dsn=" + one_line(e.dsn);
    if (!e.ndr_queue_id.empty()) line += ", ndr=" + e.ndr_queue_id;
    if (!e.would_fail.empty()) {  // "reason: detail": the reason's name keeps the line parseable
        const std::string_view w = e.would_fail;
        line += ", would_fail=" + one_line(w.substr(0, w.find(':')));
    }
    line += fmt::format(", status={}", status_name(outcome));
    if (!e.reply.empty()) line += fmt::format(" ({})", one_line(e.reply));
    return line;
}

}  // namespace chainmail::log
