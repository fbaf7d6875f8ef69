// report: `chainmail report` reads the delivery log (rotated and gzipped files
// too, or the files named, from several relays at once), sums it per partner
// and domain, and prints the table, JSON, and optionally the HTML page.
#include <fmt/core.h>

#include <algorithm>
#include <fstream>

#include "relay/cli/cli.hpp"
#include "relay/cli/report.hpp"
#include "relay/clock/wall_clock.hpp"
#include "relay/log/log_files.hpp"
#include "relay/log/log_filter.hpp"
#include "relay/log/log_reader.hpp"
#include "relay/log/log_time.hpp"

namespace chainmail::cli {

namespace {

ReportRow judge(Row row, const std::string& mode, std::int64_t days) {
    ReportRow out;
    out.mode = mode;
    policy::RowFacts f;
    f.level = policy::parse_tls_level(row.c.policy);
    if (!mode.empty()) f.mode = policy::parse_mode(mode);
    f.days = days;
    f.by_auth = row.c.by_auth;
    f.old_tls = row.c.old_tls;
    f.tls_failures = row.c.tls_failures;
    std::map<std::string, std::uint64_t> failures = row.c.deferred_by_reason;
    for (const auto& [k, v] : row.c.bounced_by_reason) failures[k] += v;
    std::map<std::string, std::uint64_t> tls_only;
    for (const auto& [k, v] : failures)
        if (policy::is_tls_failure(k, "")) tls_only[k] = v;
    f.top_tls_failure = top_of(tls_only);
    if (f.top_tls_failure.empty() && f.tls_failures) f.top_tls_failure = top_of(failures);
    f.would_fail = row.c.would_fail;
    f.top_would_fail = top_of(row.c.would_fail_by_reason);
    f.other_failures = row.c.deferred + row.c.bounced + row.c.expired - row.c.tls_failures;
    std::vector<policy::DayProtection> days_v;
    for (const auto& [d, p] : row.days) days_v.push_back(p);
    out.regressions = policy::find_regressions(days_v);
    if (!out.regressions.empty() && !row.domain.empty()) {
        f.regression = out.regressions.back();
        f.regression_date = log::day_string(f.regression->day);
    }
    out.safe = policy::strongest_safe(f);
    out.advice = policy::advise(f);
    out.row = std::move(row);
    return out;
}

}  // namespace

Report build_report(const Tally& t, const std::map<std::string, std::string>& modes,
                    std::int64_t since_ms, std::int64_t until_ms) {
    Report r;
    r.since_ms = since_ms;
    r.until_ms = until_ms;
    r.days = std::max<std::int64_t>(1, (until_ms - since_ms + 86'399'999) / 86'400'000);
    r.received = t.received;
    std::map<std::string, std::vector<const Row*>> by_partner;
    for (const auto& [key, row] : t.rows) by_partner[key.first].push_back(&row);
    for (const auto& [partner, rows] : by_partner) {
        const auto m = modes.find(partner);
        const std::string mode = m == modes.end() ? "" : m->second;
        Row total;
        total.partner = partner;
        for (const Row* row : rows) {
            total.c.add(row->c);
            for (const auto& [d, p] : row->days) {
                policy::DayProtection& into = total.days[d];
                into.day = d;
                for (std::size_t k = 0; k < policy::kProtections; ++k) into.count[k] += p.count[k];
            }
        }
        ReportGroup g;
        for (const Row* row : rows) g.domains.push_back(judge(*row, mode, r.days));
        // The partner's regressions are its domains'; its own row only sums them.
        g.total = judge(std::move(total), mode, r.days);
        g.total.regressions.clear();
        r.groups.push_back(std::move(g));
    }
    // Partners by name, the catch-all `defaults` last.
    std::stable_sort(r.groups.begin(), r.groups.end(), [](const auto& a, const auto& b) {
        return (a.total.row.partner == "defaults") < (b.total.row.partner == "defaults");
    });
    for (const ReportGroup& g : r.groups)
        for (const ReportRow& d : g.domains) {
            if (d.row.c.by_auth[static_cast<std::size_t>(policy::AuthLabel::Plaintext)] > 0)
                r.plaintext.push_back(&d);
            if (!d.regressions.empty()) r.regressed.push_back(&d);
        }
    const auto plain = [](const ReportRow* x) {
        return x->row.c.by_auth[static_cast<std::size_t>(policy::AuthLabel::Plaintext)];
    };
    std::stable_sort(r.plaintext.begin(), r.plaintext.end(),
                     [&](const ReportRow* a, const ReportRow* b) { return plain(a) > plain(b); });
    return r;
}

int cmd_report(const Common& common, const ReportOptions& o) {
    const std::int64_t now = clock::now_ms();
    std::string err;
    const auto since = log::parse_when(o.since, now, err);
    if (!since) {
        fmt::print(stderr, "chainmail report: --since {}\n", err);
        return 2;
    }
    std::optional<std::int64_t> until = now;
    if (!o.until.empty() && !(until = log::parse_when(o.until, now, err))) {
        fmt::print(stderr, "chainmail report: --until {}\n", err);
        return 2;
    }
    // The configuration gives the log's path and each partner's mode; for
    // files named on the command line (copied from elsewhere) it may be absent.
    Report skeleton;
    std::map<std::string, std::string> modes;
    std::vector<std::string> files = o.files;
    config::LoadResult loaded =
        common.default_config
            ? config::load_config_text(config::embedded_default_yaml(), "(embedded default)")
            : config::load_config_file(common.config_path, {.check_files = false});
    if (auto* cfg = std::get_if<config::Config>(&loaded)) {
        for (const config::Partner& p : cfg->partners)
            modes[p.name] = std::string(policy::to_string(p.mode));
        modes["defaults"] = std::string(policy::to_string(cfg->defaults.mode));
        if (files.empty()) {
            if (cfg->log.delivery_log.empty()) {
                fmt::print(stderr,
                           "chainmail report: {} sets no log.delivery_log; name the log files "
                           "on the command line\n",
                           cfg->source);
                return 1;
            }
            files = log::rotated_set(cfg->log.delivery_log);
        }
    } else if (files.empty()) {
        for (const auto& e : std::get<std::vector<config::ConfigError>>(loaded))
            fmt::print(stderr, "{}\n", e.str());
        return 1;
    } else {
        skeleton.config_note =
            "configuration " + common.config_path + " not read: testing mode is not recognised";
    }

    log::LogFilter filter;
    filter.partner = o.partner;
    filter.since_ms = since;
    filter.until_ms = until;
    Tally tally;
    log::LogReader reader(log::prefilter_for(filter),
                          [&](std::string_view, const log::LogRecord& rec) {
                              if (log::matches(filter, rec)) tally.add(rec);
                          });
    if (o.files.empty())
        reader.read_files(files);
    else
        for (const std::string& p : files) reader.read_file(p);
    if (reader.stats().files == 0) {
        fmt::print(stderr, "chainmail report: no delivery log could be read\n{}\n",
                   reader.damage_summary());
        return 1;
    }

    Report report = build_report(tally, modes, *since, *until);
    report.files = files;
    report.lines = reader.stats().parsed;
    report.damaged = reader.stats().damaged;
    report.damage = reader.damage_summary();
    report.config_note = skeleton.config_note;
    if (!o.html.empty()) {
        std::ofstream out(o.html, std::ios::binary | std::ios::trunc);
        out << report_html(report);
        out.close();
        if (!out) {
            fmt::print(stderr, "chainmail report: cannot write {}\n", o.html);
            return 1;
        }
    }
    fmt::print("{}", o.json ? report_json(report) : report_text(report));
    if (!report.damage.empty())
        fmt::print(stderr, "chainmail report: warning: {}\n", report.damage);
    if (!report.config_note.empty())
        fmt::print(stderr, "chainmail report: note: {}\n", report.config_note);
    return 0;
}

}  // namespace chainmail::cli
