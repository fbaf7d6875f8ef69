// probe_html: `chainmail probe --partners --html FILE`: the partner map as one
// self-contained page (html_page.hpp: the report's style, nothing fetched).
#include <fmt/core.h>

#include <ctime>

#include "relay/cli/html_page.hpp"
#include "relay/cli/probe_partners.hpp"

namespace chainmail::cli {

namespace {

std::string now_utc() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min);
}

}  // namespace

std::string partners_html(const PartnerMap& map, const resolve::DnssecSelfCheck& self) {
    std::string out = html_open("chainmail probe: partner map");
    std::size_t delivering = 0;
    for (const PartnerRow& r : map.rows)
        delivering += r.configured == policy::ProbeVerdict::Deliver;
    out += fmt::format(
        "<h1>Which partner offers which protection</h1><p class=meta>chainmail probe --partners, "
        "{} &middot; {} domains probed &middot; DNSSEC: {}</p>\n",
        now_utc(), map.rows.size(), html_escape(selfcheck_text(self)));
    out += "<div class=cards>";
    out +=
        fmt::format("<div class=card id=c-domains><b>{}</b>partner domains</div>", map.rows.size());
    out +=
        fmt::format("<div class=card id=c-ok><b>{}</b>configured level delivers</div>", delivering);
    out += fmt::format("<div class=card id=c-not><b>{}</b>configured level would not</div>",
                       map.rows.size() - delivering);
    out += "</div>\n";
    out += "<h2>Where the configured level would not deliver today</h2>\n";
    if (delivering == map.rows.size())
        out += "<p class=none>None: every configured level delivers.</p>\n";
    else
        out += "<ul class=adv>";
    for (const PartnerRow& r : map.rows)
        if (r.configured != policy::ProbeVerdict::Deliver)
            out += fmt::format("<li class=act><b>{} / {}</b> ({}): would {}: {}</li>",
                               html_escape(r.partner), html_escape(r.domain), r.level,
                               policy::to_string(r.configured), html_escape(r.configured_reason));
    if (delivering != map.rows.size()) out += "</ul>\n";
    out +=
        "<h2>Per partner domain</h2>\n<table id=partners><thead><tr>"
        "<th class=l>partner</th><th class=l>domain</th><th class=l>level</th>"
        "<th class=l>mode</th><th class=l>DNSSEC</th><th class=l>DANE</th>"
        "<th class=l>MTA-STS</th><th class=l>STARTTLS</th><th class=l>TLS</th>"
        "<th class=l>certificate</th><th class=l>strongest that delivers</th>"
        "<th class=l>configured level today</th></tr></thead><tbody>\n";
    for (const PartnerRow& r : map.rows) {
        const bool ok = r.configured == policy::ProbeVerdict::Deliver;
        out += fmt::format(
            "<tr><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td>"
            "<td class=l>{}</td><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td>"
            "<td class=l>{}</td><td class=l>{}</td><td class=l>{}</td>"
            "<td class='l {}'>{}</td></tr>\n",
            html_escape(r.partner), html_escape(r.domain), r.level, r.mode, html_escape(r.dnssec),
            html_escape(r.dane), html_escape(r.mta_sts), html_escape(r.starttls),
            html_escape(r.tls), html_escape(r.certificate),
            r.strongest ? std::string(policy::to_string(*r.strongest)) : "none",
            ok ? "none" : "bad",
            ok ? "delivers" : "would " + std::string(policy::to_string(r.configured)));
    }
    out += "</tbody></table>\n";
    if (!map.skipped.empty()) {
        out += "<h2>Not probed</h2><ul>";
        for (const std::string& s : map.skipped) out += "<li>" + html_escape(s) + "</li>";
        out += "</ul>\n";
    }
    out +=
        "<p class=meta>Made by chainmail probe: EHLO, STARTTLS and QUIT only, no mail sent. "
        "Verdicts come from the same policy code as delivery.</p></body></html>\n";
    return out;
}

}  // namespace chainmail::cli
