// report_html: `chainmail report --html FILE`, one self-contained page (inline
// CSS, SVG drawn here, no script, nothing fetched) that reads on a laptop and
// prints on A4: summary, plaintext, regressions, advice, table, charts.
#include <fmt/core.h>

#include "relay/cli/html_page.hpp"
#include "relay/cli/report.hpp"
#include "relay/log/log_time.hpp"

namespace chainmail::cli {

namespace {

using policy::AuthLabel;
using policy::plural;
using policy::Protection;
using policy::thousands;

std::string esc(std::string_view s) {
    return html_escape(s);
}

std::uint64_t auth(const Counts& c, AuthLabel a) {
    return c.by_auth[static_cast<std::size_t>(a)];
}

std::string num(std::uint64_t n) {
    return n == 0 ? "<span class=z>0</span>" : thousands(n);
}

// Colours per protection, weakest first (Failing .. Dane); readable in grey print too.
constexpr const char* kColour[policy::kProtections] = {"#7f1d1d", "#dc2626", "#f2b134", "#60a5fa",
                                                       "#15803d"};
constexpr const char* kLabel[policy::kProtections] = {
    "failed on TLS", "plaintext", "encrypted only", "PKIX / MTA-STS / fingerprint", "DANE"};

std::string regression_text(const ReportRow& d, const policy::Regression& g) {
    return fmt::format("<b>{}</b> &nbsp;{} / {}: was {} (since {}), now {} ({} of {} that day)",
                       log::day_string(g.day), esc(d.row.partner), esc(d.row.domain),
                       policy::describe(g.was), log::day_string(g.since_day),
                       policy::describe(g.now), thousands(g.weaker), thousands(g.total));
}

void table_row(std::string& out, const ReportRow& r, bool partner) {
    const Counts& c = r.row.c;
    const std::uint64_t plain = auth(c, AuthLabel::Plaintext);
    out += fmt::format(
        "<tr class={}><td class=l>{}</td><td class=l>{}{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td class=l>{}</td>"
        "<td class=l>{}</td><td class=l>{}</td></tr>\n",
        partner ? "p" : "d", esc(partner ? r.row.partner : r.row.domain), esc(c.policy),
        r.mode == "testing" ? " (testing)" : "", num(c.messages), num(c.recipients),
        num(c.delivered), num(auth(c, AuthLabel::DaneEe)), num(auth(c, AuthLabel::DaneTa)),
        num(auth(c, AuthLabel::MtaSts)), num(auth(c, AuthLabel::Pkix)),
        num(auth(c, AuthLabel::Fingerprint)), num(auth(c, AuthLabel::None)),
        plain ? " class=bad" : "", num(plain),
        num(c.by_version.count("TLSv1.3") ? c.by_version.at("TLSv1.3") : 0),
        num(c.by_version.count("TLSv1.2") ? c.by_version.at("TLSv1.2") : 0), num(c.deferred),
        c.bounced + c.expired ? " class=bad" : "", num(c.bounced + c.expired), num(c.would_fail),
        c.first.substr(0, 10), c.last.substr(0, 10),
        r.safe ? std::string(policy::to_string(*r.safe)) : "&ndash;");
}

// One domain: a 100% stacked bar per day of the period, by protection.
std::string chart(const ReportRow& d, std::int64_t first_day, std::int64_t ndays) {
    constexpr int kW = 340, kH = 90, kTop = 4;
    const double bw = static_cast<double>(kW) / static_cast<double>(ndays);
    std::string svg = fmt::format(
        "<svg viewBox='0 0 {} {}' width='100%' role='img' aria-label='protection per day for "
        "{}'><rect x='0' y='{}' width='{}' height='{}' fill='#f9fafb'/>",
        kW, kH + 18, esc(d.row.domain), kTop, kW, kH);
    for (const auto& [day, p] : d.row.days) {
        std::uint64_t total = 0;
        for (std::uint64_t c : p.count) total += c;
        if (total == 0 || day < first_day || day >= first_day + ndays) continue;
        const double x = static_cast<double>(day - first_day) * bw;
        double y = kTop + kH;
        // Strongest at the bottom, so a weaker share shows on top of each bar.
        for (int k = static_cast<int>(policy::kProtections) - 1; k >= 0; --k) {
            const std::uint64_t c = p.count[static_cast<std::size_t>(k)];
            if (c == 0) continue;
            const double h =
                static_cast<double>(kH) * static_cast<double>(c) / static_cast<double>(total);
            y -= h;
            svg += fmt::format(
                "<rect x='{:.2f}' y='{:.2f}' width='{:.2f}' height='{:.2f}' fill='{}'><title>{}: "
                "{} {}</title></rect>",
                x + 0.5, y, std::max(bw - 1.0, 0.8), h, kColour[k], log::day_string(day), c,
                kLabel[k]);
        }
    }
    for (const policy::Regression& g : d.regressions) {
        const double x = static_cast<double>(g.day - first_day) * bw;
        svg += fmt::format(
            "<line x1='{0:.2f}' x2='{0:.2f}' y1='0' y2='{1}' stroke='#111' stroke-width='1.5' "
            "stroke-dasharray='3 2'/>",
            x, kH + kTop);
    }
    svg += fmt::format(
        "<text x='0' y='{0}' font-size='10' fill='#6b7280'>{1}</text><text x='{2}' y='{0}' "
        "font-size='10' fill='#6b7280' text-anchor='end'>{3}</text></svg>",
        kH + 16, log::day_string(first_day), kW, log::day_string(first_day + ndays - 1));
    return svg;
}

}  // namespace

std::string report_html(const Report& r) {
    std::string out;
    const std::string from = log::iso_ms(r.since_ms).substr(0, 10);
    const std::string to = log::iso_ms(r.until_ms).substr(0, 10);
    Counts all;
    for (const ReportGroup& g : r.groups) all.add(g.total.row.c);
    out += html_open(fmt::format("chainmail report {} to {}", from, to));
    out += fmt::format(
        "<h1>How mail to our partners was protected</h1><p class=meta>chainmail report, {} to {} "
        "UTC ({}) &middot; {} log lines from {}{}</p>\n",
        from, to, plural(static_cast<std::uint64_t>(r.days), "day", "days"), thousands(r.lines),
        plural(r.files.size(), "file", "files"),
        r.damaged ? fmt::format(" &middot; {} damaged lines skipped", thousands(r.damaged)) : "");
    const std::uint64_t dane = auth(all, AuthLabel::DaneEe) + auth(all, AuthLabel::DaneTa);
    const std::uint64_t authd = auth(all, AuthLabel::Pkix) + auth(all, AuthLabel::MtaSts) +
                                auth(all, AuthLabel::Fingerprint);
    out += "<div class=cards>";
    const auto card = [&](const char* id, const std::string& v, const char* what) {
        out += fmt::format("<div class=card id={}><b>{}</b>{}</div>", id, v, what);
    };
    card("c-messages", thousands(all.messages), "messages");
    card("c-delivered", thousands(all.delivered), "deliveries");
    card("c-dane", thousands(dane), "DANE-authenticated");
    card("c-auth", thousands(authd), "PKIX, MTA-STS or fingerprint");
    card("c-encrypted", thousands(auth(all, AuthLabel::None)), "encrypted only");
    card("c-plaintext", thousands(auth(all, AuthLabel::Plaintext)), "plaintext");
    card("c-failed", thousands(all.bounced + all.expired), "bounced");
    out += "</div>\n";

    out += "<h2>Domains that received mail in plaintext</h2>\n";
    if (r.plaintext.empty())
        out += "<p class=none>None: every delivery was encrypted.</p>\n";
    else
        out += "<ul class=adv>";
    for (const ReportRow* d : r.plaintext)
        out += fmt::format(
            "<li class=act><b>{}</b> ({}): {} of {} deliveries in plaintext, last {}</li>",
            esc(d->row.domain), esc(d->row.partner),
            thousands(auth(d->row.c, AuthLabel::Plaintext)), thousands(d->row.c.delivered),
            d->row.c.last.substr(0, 10));
    if (!r.plaintext.empty()) out += "</ul>\n";

    out += "<h2>Regressions: protection that got weaker</h2>\n";
    if (r.regressed.empty())
        out += "<p class=none>None in this period.</p>\n";
    else
        out += "<ul class=adv>";
    for (const ReportRow* d : r.regressed)
        for (const policy::Regression& g : d->regressions)
            out += "<li class=act>" + regression_text(*d, g) + "</li>";
    if (!r.regressed.empty()) out += "</ul>\n";

    out += "<h2>Advice</h2>\n<ul class=adv>";
    for (const ReportGroup& g : r.groups)
        for (const ReportRow& d : g.domains)
            for (const policy::Advice& a : d.advice)
                out += fmt::format(
                    "<li class={0}><span class=tag>{0}</span><b>{1} / {2}</b>: {3}</li>",
                    policy::to_string(a.severity), esc(d.row.partner), esc(d.row.domain),
                    esc(a.text));
    out += "</ul>\n";

    out +=
        "<h2>Per partner and destination domain</h2>\n<table id=partners><thead><tr>"
        "<th class=l>partner / domain</th><th class=l>level</th><th>messages</th>"
        "<th>recipients</th><th>delivered</th><th>DANE-EE</th><th>DANE-TA</th>"
        "<th>MTA-STS</th><th>PKIX</th><th>finger&shy;print</th><th>encrypt only</th>"
        "<th>plain&shy;text</th><th>TLS 1.3</th><th>TLS 1.2</th><th>deferred</th>"
        "<th>bounced</th><th>would fail</th><th class=l>first</th><th class=l>last</th>"
        "<th class=l>safe level</th></tr></thead><tbody>\n";
    for (const ReportGroup& g : r.groups) {
        table_row(out, g.total, true);
        for (const ReportRow& d : g.domains) table_row(out, d, false);
    }
    out += "</tbody></table></div>\n";

    out += "<h2>Protection per domain, per day</h2>\n<p class=legend>";
    for (int k = static_cast<int>(policy::kProtections) - 1; k >= 0; --k)
        out += fmt::format("<span><i style='background:{}'></i>{}</span>", kColour[k], kLabel[k]);
    out += "<span>&#9476; regression</span></p>\n<div class=charts>\n";
    const std::int64_t first_day = log::day_of(r.since_ms);
    const std::int64_t ndays = std::max<std::int64_t>(1, log::day_of(r.until_ms) - first_day + 1);
    for (const ReportGroup& g : r.groups)
        for (const ReportRow& d : g.domains)
            out += fmt::format(
                "<figure><figcaption><b>{}</b> &middot; {} &middot; {} deliveries"
                "</figcaption>{}</figure>\n",
                esc(d.row.domain), esc(d.row.partner), thousands(d.row.c.delivered),
                chart(d, first_day, ndays));
    out += "</div>\n";
    if (!r.damage.empty() || !r.config_note.empty())
        out += "<h2>Notes</h2><p class=meta>" + esc(r.damage) + " " + esc(r.config_note) + "</p>\n";
    out +=
        "<p class=meta>Made by chainmail from the delivery log. Days are UTC days.</p>"
        "</body></html>\n";
    return out;
}

}  // namespace chainmail::cli
