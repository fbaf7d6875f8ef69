// report_json: `chainmail report --json`, one document; the keys are in docs/log-and-report.md.
#include <nlohmann/json.hpp>

#include "relay/cli/report.hpp"
#include "relay/log/log_time.hpp"

namespace chainmail::cli {

namespace {

using J = nlohmann::ordered_json;

std::string auth_key(std::size_t k) {
    const auto a = static_cast<policy::AuthLabel>(k);
    return a == policy::AuthLabel::None ? "encrypt-only" : std::string(policy::to_string(a));
}

J regression_json(const ReportRow& d, const policy::Regression& g) {
    J j;
    j["partner"] = d.row.partner;
    j["domain"] = d.row.domain;
    j["date"] = log::day_string(g.day);
    j["was"] = policy::to_string(g.was);
    j["now"] = policy::to_string(g.now);
    j["weaker"] = g.weaker;
    j["that_day"] = g.total;
    j["was_since"] = log::day_string(g.since_day);
    return j;
}

J row_json(const ReportRow& r) {
    const Counts& c = r.row.c;
    J j;
    j["partner"] = r.row.partner;
    if (!r.row.domain.empty()) j["domain"] = r.row.domain;
    j["policy"] = c.policy;
    j["mode"] = r.mode.empty() ? J(nullptr) : J(r.mode);
    j["messages"] = c.messages;
    j["recipients"] = c.recipients;
    j["delivered"] = c.delivered;
    j["deferred"] = c.deferred;
    j["bounced"] = c.bounced;
    j["expired"] = c.expired;
    j["would_fail"] = c.would_fail;
    j["tls_failures"] = c.tls_failures;
    J auth = J::object();
    for (std::size_t k = 0; k < c.by_auth.size(); ++k) auth[auth_key(k)] = c.by_auth[k];
    j["auth"] = auth;
    j["versions"] = c.by_version;
    j["deferred_by_reason"] = c.deferred_by_reason;
    j["bounced_by_reason"] = c.bounced_by_reason;
    j["would_fail_by_reason"] = c.would_fail_by_reason;
    j["first"] = c.first.empty() ? J(nullptr) : J(c.first);
    j["last"] = c.last.empty() ? J(nullptr) : J(c.last);
    j["safe_level"] = r.safe ? J(std::string(policy::to_string(*r.safe))) : J(nullptr);
    J advice = J::array();
    for (const policy::Advice& a : r.advice)
        advice.push_back({{"severity", policy::to_string(a.severity)}, {"text", a.text}});
    j["advice"] = advice;
    if (!r.row.domain.empty()) {
        J regs = J::array();
        for (const policy::Regression& g : r.regressions) regs.push_back(regression_json(r, g));
        j["regressions"] = regs;
    }
    return j;
}

}  // namespace

std::string report_json(const Report& r) {
    J j;
    j["since"] = log::iso_ms(r.since_ms);
    j["until"] = log::iso_ms(r.until_ms);
    j["days"] = r.days;
    j["files"] = r.files;
    j["lines"] = r.lines;
    j["damaged"] = r.damaged;
    j["received"] = r.received;
    J partners = J::array();
    for (const ReportGroup& g : r.groups) {
        J p = row_json(g.total);
        J domains = J::array();
        for (const ReportRow& d : g.domains) domains.push_back(row_json(d));
        p["domains"] = domains;
        partners.push_back(std::move(p));
    }
    j["partners"] = partners;
    J plain = J::array();
    for (const ReportRow* d : r.plaintext)
        plain.push_back({{"partner", d->row.partner},
                         {"domain", d->row.domain},
                         {"plaintext",
                          d->row.c.by_auth[static_cast<std::size_t>(policy::AuthLabel::Plaintext)]},
                         {"delivered", d->row.c.delivered}});
    j["plaintext_domains"] = plain;
    J regs = J::array();
    for (const ReportRow* d : r.regressed)
        for (const policy::Regression& g : d->regressions) regs.push_back(regression_json(*d, g));
    j["regressions"] = regs;
    return j.dump(1, ' ', false, J::error_handler_t::replace) + "\n";
}

}  // namespace chainmail::cli
