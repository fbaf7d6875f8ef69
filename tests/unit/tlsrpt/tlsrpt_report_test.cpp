// tlsrpt reports: a day of mixed results becomes the RFC 8460 §4.4 JSON (checked
// against the schema of the RFC's Appendix, written out below as checks), gzip
// round-trips, the §5.3 mail carries its headers, and the counts file survives.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <regex>

#include "gunzip.hpp"
#include "relay/tlsrpt/tlsrpt_json.hpp"
#include "relay/tlsrpt/tlsrpt_mail.hpp"
#include "relay/tlsrpt/tlsrpt_store.hpp"

using namespace chainmail;
using namespace chainmail::tlsrpt;
using nlohmann::json;
using policy::TlsrptPolicyType;
using policy::TlsrptResult;

namespace {

constexpr std::int64_t kDay = 1796256000;  // 2026-12-03T00:00:00Z

// RFC 8460 §4.4 and its JSON schema: the required members and their types.
// Every violation is returned in words, so a failure names the member.
std::vector<std::string> schema_violations(const json& r) {
    std::vector<std::string> v;
    auto need = [&](const json& obj, const char* key, auto is_type, const char* type,
                    const std::string& where) -> bool {
        if (!obj.is_object() || !obj.contains(key)) {
            v.push_back(where + key + " is missing");
            return false;
        }
        if (!is_type(obj.at(key))) {
            v.push_back(where + key + " is not " + type);
            return false;
        }
        return true;
    };
    auto is_string = [](const json& j) { return j.is_string(); };
    auto is_count = [](const json& j) {
        return j.is_number_integer() && j.get<std::int64_t>() >= 0;
    };
    auto is_object = [](const json& j) { return j.is_object(); };
    auto is_strings = [](const json& j) {
        return j.is_array() &&
               std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); });
    };
    const std::regex datetime(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
    need(r, "organization-name", is_string, "a string", "");
    need(r, "contact-info", is_string, "a string", "");
    need(r, "report-id", is_string, "a string", "");
    if (need(r, "date-range", is_object, "an object", "")) {
        for (const char* k : {"start-datetime", "end-datetime"})
            if (need(r["date-range"], k, is_string, "a string", "date-range.") &&
                !std::regex_match(r["date-range"][k].get<std::string>(), datetime))
                v.push_back(std::string("date-range.") + k + " is not an RFC 3339 date-time");
    }
    if (!r.contains("policies") || !r["policies"].is_array()) {
        v.push_back("policies is not an array");
        return v;
    }
    for (const auto& p : r["policies"]) {
        if (need(p, "policy", is_object, "an object", "policies[].")) {
            const json& d = p["policy"];
            if (need(d, "policy-type", is_string, "a string", "policy.") &&
                !policy::parse_tlsrpt_policy_type(d["policy-type"].get<std::string>()))
                v.push_back("policy.policy-type is not tlsa, sts or no-policy-found");
            need(d, "policy-domain", is_string, "a string", "policy.");
            if (d.contains("policy-string") && !is_strings(d["policy-string"]))
                v.push_back("policy.policy-string is not an array of strings");
            if (d.contains("mx-host") && !is_strings(d["mx-host"]))
                v.push_back("policy.mx-host is not an array of strings");
        }
        if (need(p, "summary", is_object, "an object", "policies[].")) {
            need(p["summary"], "total-successful-session-count", is_count, "a count", "summary.");
            need(p["summary"], "total-failure-session-count", is_count, "a count", "summary.");
        }
        if (!p.contains("failure-details")) continue;
        if (!p["failure-details"].is_array()) {
            v.push_back("failure-details is not an array");
            continue;
        }
        for (const auto& f : p["failure-details"]) {
            if (need(f, "result-type", is_string, "a string", "failure-details[].") &&
                !policy::parse_tlsrpt_result(f["result-type"].get<std::string>()))
                v.push_back("failure-details[].result-type is not an RFC 8460 result type");
            need(f, "failed-session-count", is_count, "a count", "failure-details[].");
            for (const char* k : {"sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
                                  "receiving-ip", "additional-information", "failure-reason-code"})
                if (f.contains(k) && !f[k].is_string())
                    v.push_back(std::string("failure-details[].") + k + " is not a string");
        }
    }
    return v;
}

policy::TlsrptSession session(TlsrptPolicyType type, const std::string& domain,
                              std::optional<TlsrptResult> failure = std::nullopt,
                              const std::string& mx = "mx.example.nl",
                              const std::string& ip = "192.0.2.10") {
    policy::TlsrptSession s;
    s.policy.type = type;
    s.policy.domain = domain;
    if (type == TlsrptPolicyType::Sts) {
        s.policy.strings = {"version: STSv1", "mode: enforce", "mx: mx.example.nl",
                            "max_age: 86400"};
        s.policy.mx = {"mx.example.nl"};
    } else if (type == TlsrptPolicyType::Tlsa) {
        s.policy.strings = {"3 1 1 ABCD"};
        s.policy.mx = {mx};
    }
    s.failure = failure;
    s.mx_host = mx;
    s.receiving_ip = ip;
    if (failure) s.reason_code = std::string(policy::to_string(*failure));
    return s;
}

// A day of mixed results: example.nl under MTA-STS and under DANE for its
// second MX, partner.nl without any policy.
policy::TlsrptPeriod mixed_day() {
    policy::TlsrptPeriod day;
    day.start_s = kDay;
    day.end_s = kDay + 86400;
    for (int i = 0; i < 40; ++i) day.add(session(TlsrptPolicyType::Sts, "example.nl"));
    for (int i = 0; i < 3; ++i)
        day.add(session(TlsrptPolicyType::Sts, "example.nl", TlsrptResult::CertificateExpired));
    day.add(session(TlsrptPolicyType::Sts, "example.nl", TlsrptResult::CertificateHostMismatch,
                    "mx2.example.nl", "192.0.2.11"));
    for (int i = 0; i < 5; ++i)
        day.add(session(TlsrptPolicyType::Tlsa, "example.nl", std::nullopt, "mx3.example.nl"));
    day.add(session(TlsrptPolicyType::Tlsa, "example.nl", TlsrptResult::ValidationFailure,
                    "mx3.example.nl"));
    for (int i = 0; i < 7; ++i) day.add(session(TlsrptPolicyType::NoPolicyFound, "partner.nl"));
    day.add(session(TlsrptPolicyType::NoPolicyFound, "partner.nl",
                    TlsrptResult::StarttlsNotSupported, "mx.partner.nl", "192.0.2.20"));
    return day;
}

const ReportMeta kMeta{"Gemeente Voorbeeld", "postmaster@gemeente.nl", "relay.gemeente.nl"};

}  // namespace

TEST_CASE("a day of mixed results is a report that meets the RFC 8460 schema", "[tlsrpt]") {
    const auto day = mixed_day();
    const json r = report_json(day, "example.nl", kMeta);
    CHECK(schema_violations(r).empty());
    for (const auto& v : schema_violations(r)) FAIL_CHECK(v);

    CHECK(r["organization-name"] == "Gemeente Voorbeeld");
    CHECK(r["contact-info"] == "postmaster@gemeente.nl");
    CHECK(r["report-id"] == "2026-12-03T00:00:00Z_example.nl@relay.gemeente.nl");
    CHECK(r["date-range"]["start-datetime"] == "2026-12-03T00:00:00Z");
    CHECK(r["date-range"]["end-datetime"] == "2026-12-03T23:59:59Z");
    // Only example.nl's two policies; partner.nl gets its own report.
    REQUIRE(r["policies"].size() == 2);
    const json* sts = nullptr;
    const json* tlsa = nullptr;
    for (const auto& p : r["policies"]) (p["policy"]["policy-type"] == "sts" ? sts : tlsa) = &p;
    REQUIRE(sts);
    REQUIRE(tlsa);
    CHECK((*sts)["policy"]["policy-string"][1] == "mode: enforce");
    CHECK((*sts)["policy"]["mx-host"][0] == "mx.example.nl");
    CHECK((*sts)["summary"]["total-successful-session-count"] == 40);
    CHECK((*sts)["summary"]["total-failure-session-count"] == 4);
    REQUIRE((*sts)["failure-details"].size() == 2);
    std::int64_t failed = 0;
    for (const auto& f : (*sts)["failure-details"])
        failed += f["failed-session-count"].get<std::int64_t>();
    CHECK(failed == 4);
    CHECK((*tlsa)["policy"]["policy-type"] == "tlsa");
    CHECK((*tlsa)["summary"]["total-successful-session-count"] == 5);
    CHECK((*tlsa)["failure-details"][0]["result-type"] == "validation-failure");
    CHECK((*tlsa)["failure-details"][0]["receiving-mx-hostname"] == "mx3.example.nl");
}

TEST_CASE("a domain without a policy is reported as no-policy-found", "[tlsrpt]") {
    const json r = report_json(mixed_day(), "partner.nl", kMeta);
    CHECK(schema_violations(r).empty());
    REQUIRE(r["policies"].size() == 1);
    const json& p = r["policies"][0];
    CHECK(p["policy"]["policy-type"] == "no-policy-found");
    CHECK_FALSE(p["policy"].contains("policy-string"));
    CHECK(p["summary"]["total-successful-session-count"] == 7);
    CHECK(p["failure-details"][0]["result-type"] == "starttls-not-supported");
    CHECK(p["failure-details"][0]["receiving-ip"] == "192.0.2.20");
}

TEST_CASE("the schema check itself refuses a broken report", "[tlsrpt]") {
    json r = report_json(mixed_day(), "example.nl", kMeta);
    r.erase("report-id");
    r["policies"][0]["summary"]["total-failure-session-count"] = "4";
    r["policies"][0]["policy"]["policy-type"] = "dane";
    const auto v = schema_violations(r);
    CHECK(std::find(v.begin(), v.end(), "report-id is missing") != v.end());
    CHECK(std::find(v.begin(), v.end(), "summary.total-failure-session-count is not a count") !=
          v.end());
    CHECK(std::find(v.begin(), v.end(), "policy.policy-type is not tlsa, sts or no-policy-found") !=
          v.end());
}

TEST_CASE("gzip makes an RFC 1952 stream that inflates to the report", "[tlsrpt]") {
    const std::string text = report_json(mixed_day(), "example.nl", kMeta).dump();
    const std::string gz = gzip(text);
    REQUIRE(gz.size() > 18);
    CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);  // RFC 1952 magic
    CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
    CHECK(tlsrpt_test::gunzip(gz) == text);
}

TEST_CASE("the report mail has the RFC 8460 §5.3 headers and attachment", "[tlsrpt]") {
    ReportMail m;
    m.from = "postmaster@gemeente.nl";
    m.from_name = "Gemeente Voorbeeld";
    m.to = "tls@example.nl";
    m.domain = "example.nl";
    m.submitter = "relay.gemeente.nl";
    m.report_id = "2026-12-03T00:00:00Z_example.nl@relay.gemeente.nl";
    m.start_s = kDay;
    m.end_s = kDay + 86400;
    m.now_ms = (kDay + 86400 + 5) * 1000;
    m.gzipped = gzip("{}");
    std::string id;
    const std::string mail = build_report_mail(m, id);
    CHECK(id.find("@relay.gemeente.nl>") != std::string::npos);
    CHECK(mail.find("TLS-Report-Domain: example.nl\r\n") != std::string::npos);
    CHECK(mail.find("TLS-Report-Submitter: relay.gemeente.nl\r\n") != std::string::npos);
    // The Subject is folded (RFC 5322 §2.2.3); unfolded it names all three.
    std::string unfolded;
    for (std::size_t i = 0; i < mail.size(); ++i) {
        if (mail.compare(i, 3, "\r\n ") == 0) {
            unfolded += ' ';
            i += 2;
        } else {
            unfolded += mail[i];
        }
    }
    CHECK(unfolded.find("Subject: Report Domain: example.nl Submitter: relay.gemeente.nl "
                        "Report-ID: <2026-12-03T00:00:00Z_example.nl@relay.gemeente.nl>\r\n") !=
          std::string::npos);
    CHECK(mail.find("multipart/report; report-type=\"tlsrpt\"") != std::string::npos);
    CHECK(mail.find("Content-Type: application/tlsrpt+gzip\r\n") != std::string::npos);
    CHECK(mail.find("relay.gemeente.nl!example.nl!1796256000!1796342400.json.gz") !=
          std::string::npos);
    CHECK(policy::is_tlsrpt_mail(mail));
    for (std::size_t at = 0, eol; (eol = mail.find("\r\n", at)) != std::string::npos; at = eol + 2)
        CHECK(eol - at <= 998);  // RFC 5322 §2.1.1
}

TEST_CASE("the counts file keeps every period across a restart", "[tlsrpt]") {
    char tmpl[] = "/tmp/tlsrpt-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    const std::string dir = std::string(tmpl) + "/tlsrpt";
    CountsFile file(dir);
    std::string problem;
    CHECK(file.load(problem).empty());
    auto today = mixed_day();
    policy::TlsrptPeriod yesterday;
    yesterday.start_s = kDay - 86400;
    yesterday.end_s = kDay;
    yesterday.add(session(TlsrptPolicyType::Tlsa, "example.nl", TlsrptResult::DaneRequired));
    REQUIRE_FALSE(file.save({yesterday, today}));

    const auto back = CountsFile(dir).load(problem);
    CHECK(problem.empty());
    REQUIRE(back.size() == 2);
    CHECK(back[0].start_s == yesterday.start_s);
    CHECK(back[1].policies.size() == today.policies.size());
    CHECK(report_json(back[1], "example.nl", kMeta) == report_json(today, "example.nl", kMeta));

    // A damaged file is set aside, never taken for counts.
    {
        FILE* f = fopen(file.path().c_str(), "w");
        REQUIRE(f);
        fputs("{\"version\":1,\"periods\":[{\"start\":", f);
        fclose(f);
    }
    CHECK(CountsFile(dir).load(problem).empty());
    CHECK(problem.find("damaged") != std::string::npos);
    CHECK(access((file.path() + ".damaged").c_str(), F_OK) == 0);
    std::system(("rm -rf '" + std::string(tmpl) + "'").c_str());
}
