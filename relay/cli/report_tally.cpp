// report_tally: one pass over the log's records, summed per partner and
// destination domain, and per day for regressions and the charts. Memory
// grows with rows × days and with the number of messages, never with lines.
#include <algorithm>
#include <functional>

#include "policy/smtp_codec.hpp"
#include "relay/cli/report.hpp"
#include "relay/log/log_time.hpp"

namespace chainmail::cli {

namespace {

void add_map(std::map<std::string, std::uint64_t>& into,
             const std::map<std::string, std::uint64_t>& from) {
    for (const auto& [k, v] : from) into[k] += v;
}

// Why a deferral or bounce happened: our reason, or the server's status.
std::string reason_of(const log::LogRecord& r) {
    if (r.event.equals("expired")) return "expired";
    if (!r.reason.empty()) return r.reason.str();
    if (!r.dsn.empty()) return "refused by server (" + r.dsn.str() + ")";
    return "unknown";
}

}  // namespace

void Counts::add(const Counts& o) {
    messages += o.messages;
    recipients += o.recipients;
    delivered += o.delivered;
    deferred += o.deferred;
    bounced += o.bounced;
    expired += o.expired;
    would_fail += o.would_fail;
    tls_failures += o.tls_failures;
    old_tls += o.old_tls;
    for (std::size_t k = 0; k < by_auth.size(); ++k) by_auth[k] += o.by_auth[k];
    add_map(by_version, o.by_version);
    add_map(deferred_by_reason, o.deferred_by_reason);
    add_map(bounced_by_reason, o.bounced_by_reason);
    add_map(would_fail_by_reason, o.would_fail_by_reason);
    if (!o.first.empty() && (first.empty() || o.first < first)) first = o.first;
    if (!o.last.empty() && (last.empty() || o.last > last)) {
        last = o.last;
        policy = o.policy;
    }
}

void Tally::add(const log::LogRecord& r) {
    enum class Kind { Delivered, Deferred, Bounced, Expired, Other };
    Kind kind = Kind::Other;
    if (r.event.equals("delivered") || r.event.equals("ndr_sent"))
        kind = Kind::Delivered;
    else if (r.event.equals("deferred") || r.event.equals("held"))
        kind = Kind::Deferred;
    else if (r.event.equals("bounced"))
        kind = Kind::Bounced;
    else if (r.event.equals("expired"))
        kind = Kind::Expired;
    if (kind == Kind::Other) {
        if (r.event.equals("received")) ++received;
        return;
    }
    const std::string rcpt = r.rcpt.str();
    const std::size_t at = rcpt.rfind('@');
    std::string domain = policy::ascii_lower(at == std::string::npos ? rcpt : rcpt.substr(at + 1));
    std::string partner = r.partner.empty() ? "defaults" : r.partner.str();
    auto [it, fresh] = rows.try_emplace({partner, domain});
    Row& row = it->second;
    if (fresh) {
        row.partner = std::move(partner);
        row.domain = std::move(domain);
    }
    Counts& c = row.c;

    // Normalised to the log's own form, so that the strings compare as times.
    std::string ts(r.ts.raw);
    if (ts.size() != 24 || ts.back() != 'Z') {
        const auto ms = log::parse_ts(r.ts.str());
        ts = ms ? log::iso_ms(*ms) : std::string();
    }
    if (ts.empty()) return;
    if (ts.compare(0, 10, day_text_) != 0) {
        day_text_ = ts.substr(0, 10);
        day_ = log::day_of(*log::parse_ts(day_text_ + "T00:00:00Z"));
    }
    if (c.first.empty() || ts < c.first) c.first = ts;
    if (c.last.empty() || ts >= c.last) {
        c.last = ts;
        c.policy = r.policy.str();
    }
    policy::DayProtection& day = row.days[day_];
    day.day = day_;

    if (kind != Kind::Deferred) {
        ++c.recipients;
        const std::uint64_t key =
            std::hash<std::string_view>{}(r.queue_id.raw) * 1'000'003u +
            static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&row));
        if (seen_.insert(key).second) ++c.messages;
    }
    switch (kind) {
        case Kind::Delivered: {
            ++c.delivered;
            const auto auth = policy::parse_auth(r.tls_auth.str(), r.has_tls);
            const policy::AuthLabel a = auth.value_or(policy::AuthLabel::None);
            ++c.by_auth[static_cast<std::size_t>(a)];
            ++day.count[static_cast<std::size_t>(policy::protection_of(a))];
            const std::string v = r.has_tls ? r.tls_version.str() : "plaintext";
            ++c.by_version[v];
            if (v == "TLSv1" || v == "TLSv1.0" || v == "TLSv1.1" || v.rfind("SSL", 0) == 0)
                ++c.old_tls;
            if (!r.would_fail.empty()) {
                ++c.would_fail;
                std::string why = r.would_fail.str();
                why = why.substr(0, why.find(':'));
                ++c.would_fail_by_reason[why];
            }
            break;
        }
        case Kind::Deferred:
        case Kind::Bounced:
        case Kind::Expired: {
            const std::string why = reason_of(r);
            if (kind == Kind::Deferred) {
                ++c.deferred;
                ++c.deferred_by_reason[why];
            } else {
                ++(kind == Kind::Bounced ? c.bounced : c.expired);
                ++c.bounced_by_reason[why];
            }
            if (policy::is_tls_failure(r.reason.raw, r.dsn.raw)) {
                ++c.tls_failures;
                ++day.count[static_cast<std::size_t>(policy::Protection::Failing)];
            }
            break;
        }
        case Kind::Other:
            break;
    }
}

std::string top_of(const std::map<std::string, std::uint64_t>& m) {
    auto best = std::max_element(m.begin(), m.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    return best == m.end() ? std::string() : best->first;
}

}  // namespace chainmail::cli
