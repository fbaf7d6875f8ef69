#include "relay/tlsrpt/tlsrpt_json.hpp"

#include <ctime>

namespace chainmail::tlsrpt {

using nlohmann::json;
using policy::TlsrptPeriod;

std::string utc_datetime(std::int64_t unix_s) {
    const std::time_t t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string report_id(const TlsrptPeriod& period, const std::string& domain,
                      const std::string& submitter) {
    return utc_datetime(period.start_s) + "_" + domain + "@" + submitter;
}

json report_json(const TlsrptPeriod& period, const std::string& domain, const ReportMeta& meta) {
    json policies = json::array();
    for (const auto& [p, counts] : period.policies) {
        if (p.domain != domain) continue;
        json desc = {{"policy-type", policy::to_string(p.type)}, {"policy-domain", p.domain}};
        // §4.4: policy-string and mx-host only where a policy was found.
        if (!p.strings.empty()) desc["policy-string"] = p.strings;
        if (!p.mx.empty()) desc["mx-host"] = p.mx;
        json entry = {{"policy", desc},
                      {"summary",
                       {{"total-successful-session-count", counts.successful},
                        {"total-failure-session-count", counts.failed}}}};
        if (!counts.failures.empty()) {
            json details = json::array();
            for (const auto& [k, n] : counts.failures) {
                json d = {{"result-type", policy::to_string(k.result)},
                          {"failed-session-count", n}};
                if (!k.mx_host.empty()) d["receiving-mx-hostname"] = k.mx_host;
                if (!k.receiving_ip.empty()) d["receiving-ip"] = k.receiving_ip;
                if (!k.reason_code.empty()) d["failure-reason-code"] = k.reason_code;
                details.push_back(std::move(d));
            }
            entry["failure-details"] = std::move(details);
        }
        policies.push_back(std::move(entry));
    }
    return json{{"organization-name", meta.organization},
                {"date-range",
                 {{"start-datetime", utc_datetime(period.start_s)},
                  {"end-datetime", utc_datetime(period.end_s - 1)}}},
                {"contact-info", meta.contact},
                {"report-id", report_id(period, domain, meta.submitter)},
                {"policies", std::move(policies)}};
}

std::string encode_periods(const std::vector<TlsrptPeriod>& periods) {
    json out = json::array();
    for (const auto& period : periods) {
        json ps = json::array();
        for (const auto& [p, c] : period.policies) {
            json fs = json::array();
            for (const auto& [k, n] : c.failures)
                fs.push_back({{"result", policy::to_string(k.result)},
                              {"mx", k.mx_host},
                              {"ip", k.receiving_ip},
                              {"code", k.reason_code},
                              {"count", n}});
            ps.push_back({{"type", policy::to_string(p.type)},
                          {"domain", p.domain},
                          {"strings", p.strings},
                          {"mx", p.mx},
                          {"successful", c.successful},
                          {"failed", c.failed},
                          {"failures", std::move(fs)}});
        }
        out.push_back(
            {{"start", period.start_s}, {"end", period.end_s}, {"policies", std::move(ps)}});
    }
    return json{{"version", 1}, {"periods", std::move(out)}}.dump() + "\n";
}

std::optional<std::vector<TlsrptPeriod>> decode_periods(const std::string& text) {
    const json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || doc.value("version", 0) != 1) return std::nullopt;
    std::vector<TlsrptPeriod> out;
    try {
        for (const auto& jp : doc.at("periods")) {
            TlsrptPeriod period;
            period.start_s = jp.at("start").get<std::int64_t>();
            period.end_s = jp.at("end").get<std::int64_t>();
            for (const auto& e : jp.at("policies")) {
                policy::TlsrptPolicy p;
                const auto type = policy::parse_tlsrpt_policy_type(e.at("type").get<std::string>());
                if (!type) return std::nullopt;
                p.type = *type;
                p.domain = e.at("domain").get<std::string>();
                p.strings = e.at("strings").get<std::vector<std::string>>();
                p.mx = e.at("mx").get<std::vector<std::string>>();
                policy::TlsrptCounts& c = period.policies[p];
                c.successful = e.at("successful").get<std::int64_t>();
                c.failed = e.at("failed").get<std::int64_t>();
                for (const auto& f : e.at("failures")) {
                    const auto r = policy::parse_tlsrpt_result(f.at("result").get<std::string>());
                    if (!r) return std::nullopt;
                    c.failures[{*r, f.at("mx").get<std::string>(), f.at("ip").get<std::string>(),
                                f.at("code").get<std::string>()}] =
                        f.at("count").get<std::int64_t>();
                }
            }
            out.push_back(std::move(period));
        }
    } catch (const json::exception&) {
        return std::nullopt;
    }
    return out;
}

}  // namespace chainmail::tlsrpt
