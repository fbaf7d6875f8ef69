// report_text: `chainmail report` for a terminal: what needs attention first
// (plaintext, regressions), then the table per partner and domain, the
// failures by reason and the advice.
#include <fmt/core.h>

#include "relay/cli/report.hpp"
#include "relay/log/log_time.hpp"

namespace chainmail::cli {

namespace {

using policy::AuthLabel;
using policy::plural;
using policy::thousands;

std::uint64_t auth(const Counts& c, AuthLabel a) {
    return c.by_auth[static_cast<std::size_t>(a)];
}

std::uint64_t version(const Counts& c, const std::string& v) {
    const auto it = c.by_version.find(v);
    return it == c.by_version.end() ? 0 : it->second;
}

std::string num(std::uint64_t n) {
    return n == 0 ? "-" : thousands(n);
}

std::string reasons(const std::map<std::string, std::uint64_t>& m) {
    std::string out;
    for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k + " " + thousands(v);
    return out;
}

void table_row(std::string& out, const std::string& name, const ReportRow& r) {
    const Counts& c = r.row.c;
    const std::uint64_t older =
        c.delivered - version(c, "TLSv1.3") - version(c, "TLSv1.2") - auth(c, AuthLabel::Plaintext);
    out += fmt::format(
        "{:<34} {:<13} {:>7} {:>7} {:>7} | {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} | {:>6} {:>6} "
        "{:>5} | {:>6} {:>6} {:>6} | {:<10} {:<10} {}\n",
        name.size() > 34 ? name.substr(0, 33) + "~" : name,
        c.policy + (r.mode == "testing" ? "(t)" : ""), num(c.messages), num(c.recipients),
        num(c.delivered), num(auth(c, AuthLabel::DaneEe)), num(auth(c, AuthLabel::DaneTa)),
        num(auth(c, AuthLabel::MtaSts)), num(auth(c, AuthLabel::Pkix)),
        num(auth(c, AuthLabel::Fingerprint)), num(auth(c, AuthLabel::None)),
        num(auth(c, AuthLabel::Plaintext)), num(version(c, "TLSv1.3")), num(version(c, "TLSv1.2")),
        num(older), num(c.deferred), num(c.bounced + c.expired), num(c.would_fail),
        c.first.substr(0, 10), c.last.substr(0, 10),
        r.safe ? std::string(policy::to_string(*r.safe)) : "-");
}

}  // namespace

std::string report_text(const Report& r) {
    std::string out;
    out += fmt::format("chainmail report: {} to {} UTC ({})\n",
                       log::iso_ms(r.since_ms).substr(0, 16).replace(10, 1, " "),
                       log::iso_ms(r.until_ms).substr(0, 16).replace(10, 1, " "),
                       plural(static_cast<std::uint64_t>(r.days), "day", "days"));
    out += fmt::format("{} log lines read from {}; {} messages received", thousands(r.lines),
                       plural(r.files.size(), "file", "files"), thousands(r.received));
    out += r.damaged ? fmt::format("; {} damaged lines skipped\n", thousands(r.damaged)) : "\n";

    out += "\nPlaintext: domains that received mail without encryption\n";
    if (r.plaintext.empty()) out += "  none\n";
    for (const ReportRow* d : r.plaintext)
        out += fmt::format("  {:<28} {:<18} {} of {} deliveries in plaintext, last {}\n",
                           d->row.domain, d->row.partner,
                           thousands(auth(d->row.c, AuthLabel::Plaintext)),
                           thousands(d->row.c.delivered), d->row.c.last.substr(0, 10));

    out += "\nRegressions: protection that got weaker\n";
    if (r.regressed.empty()) out += "  none\n";
    for (const ReportRow* d : r.regressed)
        for (const policy::Regression& g : d->regressions)
            out += fmt::format("  {}  {} / {}: was {} (since {}), now {} ({} of {} that day)\n",
                               log::day_string(g.day), d->row.partner, d->row.domain,
                               policy::describe(g.was), log::day_string(g.since_day),
                               policy::describe(g.now), thousands(g.weaker), thousands(g.total));

    out += "\nPer partner and destination domain (deliveries by authentication and TLS version)\n";
    out += fmt::format(
        "{:<34} {:<13} {:>7} {:>7} {:>7} | {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} | {:>6} {:>6} "
        "{:>5} | {:>6} {:>6} {:>6} | {:<10} {:<10} {}\n",
        "partner / domain", "level", "msgs", "rcpts", "deliv", "dane-ee", "dane-ta", "mtasts",
        "pkix", "finger", "encr", "plain", "tls1.3", "tls1.2", "older", "defer", "bounce", "wfail",
        "first", "last", "safe level");
    for (const ReportGroup& g : r.groups) {
        if (g.domains.size() == 1) {
            table_row(out, g.total.row.partner + "/" + g.domains.front().row.domain,
                      g.domains.front());
            continue;
        }
        table_row(out, g.total.row.partner, g.total);
        for (const ReportRow& d : g.domains) table_row(out, "  " + d.row.domain, d);
    }
    out +=
        "(t): mode testing, delivered as under may; wfail: deliveries its level would have "
        "refused\n";

    out += "\nDeferrals and bounces by reason\n";
    bool any = false;
    for (const ReportGroup& g : r.groups)
        for (const ReportRow& d : g.domains) {
            const Counts& c = d.row.c;
            if (c.deferred_by_reason.empty() && c.bounced_by_reason.empty()) continue;
            any = true;
            out += fmt::format("  {} / {}:", d.row.partner, d.row.domain);
            if (!c.deferred_by_reason.empty())
                out += " deferred: " + reasons(c.deferred_by_reason) + ";";
            if (!c.bounced_by_reason.empty())
                out += " bounced: " + reasons(c.bounced_by_reason) + ";";
            out.back() = '\n';
        }
    if (!any) out += "  none\n";

    out += "\nAdvice\n";
    for (const ReportGroup& g : r.groups) {
        const bool one = g.domains.size() == 1;
        const ReportRow& row = one ? g.domains.front() : g.total;
        for (const policy::Advice& a : row.advice)
            out += fmt::format("  [{:<4}] {}{}: {}\n", policy::to_string(a.severity),
                               g.total.row.partner, one ? " / " + row.row.domain : "", a.text);
        if (!one)
            for (const ReportRow& d : g.domains)
                for (const policy::Advice& a : d.advice)
                    if (a.severity == policy::Severity::Act || a.severity == policy::Severity::Warn)
                        out += fmt::format("  [{:<4}] {} / {}: {}\n", policy::to_string(a.severity),
                                           d.row.partner, d.row.domain, a.text);
    }
    return out;
}

}  // namespace chainmail::cli
