// ndr_scenario: a happy-path report (one recipient at a partner, STARTTLS not
// offered, nl+en) that each test changes in one respect, and a check that
// runs tests/unit/bounce/check_ndr.py on the result.
#pragma once

#include <unistd.h>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "relay/bounce/ndr.hpp"

namespace chainmail::bounce::test {

// A temporary directory, removed when the test ends.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("chainmail-bounce-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

inline constexpr std::int64_t kArrival = 1795348800000;  // 2026-11-22 12:00 UTC
inline constexpr char kHost[] = "relay.gemeente.nl";

struct Scenario {
    config::Config config;
    spool::Envelope env;
    std::string original;
    std::vector<NdrRecipient> rcpts;
    NdrOptions options;

    Scenario() {
        config.hostname = kHost;
        config::Partner partner;
        partner.name = "ziekenhuis-west";
        partner.domains = {"ziekenhuis-west.nl"};
        partner.tls = policy::TlsLevel::DaneOnly;
        partner.contact = "Servicedesk ICT ziekenhuis-west, 010 123 45 67";
        config.partners.push_back(partner);
        env.id = "01JD7Q3ZC0M8V2K9X4T6R5N1PA";
        env.sender = "a.jansen@gemeente.nl";
        env.arrival_ms = kArrival;
        for (const char* a : {"b.devries@ziekenhuis-west.nl", "c.bakker@ziekenhuis-west.nl",
                              "d.smit@example.org"}) {
            spool::Recipient r;
            r.address = a;
            env.recipients.push_back(r);
        }
        original =
            "Received: from [10.0.0.5] by relay.gemeente.nl\r\n"
            "From: A. Jansen <a.jansen@gemeente.nl>\r\n"
            "To: b.devries@ziekenhuis-west.nl, c.bakker@ziekenhuis-west.nl, d.smit@example.org\r\n"
            "Subject: Overdracht patient 1234\r\n"
            "Message-ID: <20261122.1@gemeente.nl>\r\n"
            "Date: Sun, 22 Nov 2026 12:59:00 +0100\r\n"
            "\r\n"
            "Vertrouwelijke inhoud.\r\n";
        NdrRecipient r;
        r.address = "b.devries@ziekenhuis-west.nl";
        r.outcome = policy::RcptOutcome::Bounced;
        r.reason = policy::Reason::StartTlsNotOffered;
        r.status = table_status(r);
        r.host = "mx.ziekenhuis-west.nl";
        r.ip = "192.0.2.1";
        r.detail = "EHLO reply lists no STARTTLS";
        r.level = policy::TlsLevel::DaneOnly;
        r.partner = "ziekenhuis-west";
        r.last_attempt_ms = kArrival + 60000;
        rcpts.push_back(r);
        options.now_ms = kArrival + 120000;
    }

    // The status the failure table gives a recipient with this reason and
    // outcome, as delivery hands it on (bounce itself never makes one).
    static std::string table_status(const NdrRecipient& r) {
        if (r.outcome == policy::RcptOutcome::Delivered) return policy::delivered_status("");
        const bool permanent =
            r.outcome == policy::RcptOutcome::Bounced || r.outcome == policy::RcptOutcome::Expired;
        return policy::enhanced_status(r.reason, permanent);
    }

    Scenario& reason(policy::Reason reason) {
        rcpts[0].reason = reason;
        rcpts[0].status = table_status(rcpts[0]);
        return *this;
    }
    Scenario& outcome(policy::RcptOutcome o) {
        for (auto& r : rcpts) {
            r.outcome = o;
            r.status = table_status(r);
        }
        return *this;
    }
    Scenario& languages(std::vector<std::string> langs) {
        config.ndr.languages = std::move(langs);
        return *this;
    }

    NdrMessage build(const NdrTemplates& t = NdrTemplates::shipped()) const {
        return build_ndr(config, t, env, original, rcpts, options);
    }
};

struct CheckResult {
    int status = -1;
    std::string output;
    std::string report_path;
};

// Writes the report and the expectations, runs the checker, returns its verdict.
inline CheckResult check(const TempDir& dir, const std::string& name, const NdrMessage& msg,
                         nlohmann::json expect) {
    expect["hostname"] = kHost;
    auto report = dir.path / (name + ".eml");
    auto spec = dir.path / (name + ".json");
    auto out = dir.path / (name + ".out");
    std::ofstream(report, std::ios::binary) << msg.bytes;
    std::ofstream(spec) << expect.dump(2);
    std::string cmd = std::string("/usr/bin/python3 ") + CHAINMAIL_SOURCE_DIR +
                      "/tests/unit/bounce/check_ndr.py '" + report.string() + "' '" +
                      spec.string() + "' > '" + out.string() + "' 2>&1";
    CheckResult r;
    int rc = std::system(cmd.c_str());
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    std::ifstream in(out);
    r.output.assign(std::istreambuf_iterator<char>(in), {});
    r.report_path = report.string();
    return r;
}

#define REQUIRE_CHECK_OK(result) \
    do {                         \
        auto _r = (result);      \
        INFO(_r.output);         \
        INFO(_r.report_path);    \
        REQUIRE(_r.status == 0); \
    } while (false)

}  // namespace chainmail::bounce::test
