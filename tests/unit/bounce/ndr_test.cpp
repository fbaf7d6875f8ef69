#include "tests/unit/bounce/ndr_scenario.hpp"

#include <cstdlib>
#include <iostream>

using namespace chainmail;
using namespace chainmail::bounce;
using namespace chainmail::bounce::test;
using nlohmann::json;
using policy::RcptOutcome;
using policy::Reason;

namespace {

const char* kEnglishSafe = "Nothing of your message was sent unprotected.";
const char* kDutchSafe = "Er is niets van uw bericht onbeveiligd verstuurd.";

json failed_recipient(const std::string& status) {
    return json{{"Final-Recipient", "rfc822; b.devries@ziekenhuis-west.nl"},
                {"Action", "failed"},
                {"Status", status},
                {"Remote-MTA", "dns; mx.ziekenhuis-west.nl"},
                {"Last-Attempt-Date", "Sun, 22 Nov 2026 12:01:00 +0000"},
                {"Will-Retry-Until", nullptr}};
}

}  // namespace

TEST_CASE("a STARTTLS failure report reads as RFC 3464 to Python's email parser") {
    TempDir dir;
    Scenario s;
    auto msg = s.build();
    CHECK_FALSE(msg.eight_bit);
    CHECK_FALSE(msg.smtputf8);
    json expect{
        {"sender", "a.jansen@gemeente.nl"},
        {"subject_contains", {"Niet afgeleverd / Undelivered: Overdracht patient 1234"}},
        {"in_reply_to", "<20261122.1@gemeente.nl>"},
        {"languages", {"Uw bericht aan", "Your message to"}},
        {"text_contains",
         {"b.devries@ziekenhuis-west.nl", "biedt geen versleuteling aan",
          "does not offer encryption", kEnglishSafe, kDutchSafe, "Voor uw ICT-afdeling",
          "For your IT department", "mx.ziekenhuis-west.nl", "192.0.2.1", "dane-only",
          "Servicedesk ICT ziekenhuis-west, 010 123 45 67", "EHLO reply lists no STARTTLS"}},
        {"text_excludes", {"c.bakker", "d.smit"}},
        {"message_fields",
         {{"Arrival-Date", "Sun, 22 Nov 2026 12:00:00 +0000"},
          {"X-Chainmail-Queue-ID", "01JD7Q3ZC0M8V2K9X4T6R5N1PA"}}},
        {"absent_message_fields", {"Original-Envelope-Id"}},
        {"recipients", {failed_recipient("5.7.10")}},
        {"return_type", "text/rfc822-headers"},
        {"return_cte", "7bit"},
        {"returned_subject", "Overdracht patient 1234"},
    };
    expect["recipients"][0]["Original-Recipient"] = nullptr;
    expect["recipients"][0]["Diagnostic-Code"] =
        "X-Chainmail; starttls-not-offered: EHLO reply lists no STARTTLS";
    REQUIRE_CHECK_OK(check(dir, "starttls", msg, expect));
}

TEST_CASE("every reason gets its own words, status and the not-sent-unprotected promise") {
    struct Row {
        Reason reason;
        const char* status;
        const char* english;
        const char* dutch;
    };
    const Row rows[] = {
        {Reason::StartTlsNotOffered, "5.7.10", "does not offer encryption",
         "biedt geen versleuteling"},
        {Reason::HandshakeFailed, "5.7.10", "setting up the encrypted connection failed",
         "is mislukt"},
        {Reason::TlsVersionTooLow, "5.7.10", "outdated form of encryption", "verouderde vorm"},
        {Reason::CertificateName, "5.7.5", "certificate in a different name", "op een andere naam"},
        {Reason::CertificateChain, "5.7.5", "not issued by a trusted authority",
         "vertrouwde instantie"},
        {Reason::FingerprintMismatch, "5.7.5", "different certificate than the one agreed",
         "ander certificaat"},
        {Reason::TlsaMismatch, "5.7.5", "published in DNS itself (DANE)",
         "in DNS heeft gepubliceerd (DANE)"},
        {Reason::NoUsableTlsa, "5.7.4", "must be protected with DANE",
         "moet beveiligd zijn met DANE"},
        {Reason::NoDnssec, "5.7.4", "not protected against forgery",
         "niet beschermd tegen vervalsing"},
        {Reason::DnssecBogus, "5.7.5", "failed their security check (DNSSEC)",
         "veiligheidscontrole (DNSSEC)"},
        {Reason::RequireTlsNotOffered, "5.7.30", "cannot promise that", "kan dat niet beloven"},
        {Reason::RequireTlsUnauthenticated, "5.7.30", "asked for this message to be protected",
         "identiteit van de ontvangende mailserver"},
        {Reason::NullMx, "5.1.10", "does not accept email at all", "helemaal geen e-mail ontvangt"},
        {Reason::Expired, "5.4.7", "have now stopped trying", "nu mee gestopt"},
    };
    TempDir dir;
    for (const Row& row : rows) {
        std::string name(policy::to_string(row.reason));
        SECTION(name) {
            auto msg = Scenario{}.reason(row.reason).build();
            json expect{{"languages", {"Uw bericht aan", "Your message to"}},
                        {"text_contains", {row.english, row.dutch, "b.devries@ziekenhuis-west.nl"}},
                        {"recipients", {failed_recipient(row.status)}}};
            // A TLS failure or a bogus DNSSEC answer (RFC 4035 §5.5) stopped the
            // delivery before any byte was sent: the report says so.
            if (policy::is_tls_failure(row.reason) || row.reason == Reason::DnssecBogus) {
                expect["text_contains"].push_back(kEnglishSafe);
                expect["text_contains"].push_back(kDutchSafe);
            } else {
                expect["text_excludes"] = {kEnglishSafe, kDutchSafe};
            }
            REQUIRE_CHECK_OK(check(dir, name, msg, expect));
        }
    }
}

TEST_CASE("the peer's own 5xx is passed on with its status and reply") {
    TempDir dir;
    Scenario s;
    s.rcpts[0].reason = Reason::None;
    s.rcpts[0].reply =
        "550-5.1.1 The email account that you tried to reach does not exist.\n"
        "550 5.1.1 Please check the address.";
    s.rcpts[0].detail.clear();
    s.rcpts[0].status = policy::next_step(policy::trouble_of_reply(550, "5.1.1"), {}).status;
    auto msg = s.build();
    auto rcpt = failed_recipient("5.1.1");
    rcpt["Diagnostic-Code"] =
        "smtp; 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 "
        "Please check the address.";
    REQUIRE_CHECK_OK(
        check(dir, "peer", msg,
              {{"recipients", {rcpt}},
               {"text_contains",
                {"refused it", "heeft het geweigerd", "550 5.1.1 Please check the address."}},
               {"text_excludes", {kEnglishSafe}}}));
}

TEST_CASE("English only when ndr.languages is [en], and English first when listed first") {
    TempDir dir;
    auto en = Scenario{}.languages({"en"}).build();
    REQUIRE_CHECK_OK(check(dir, "en", en,
                           {{"subject_contains", {"Undelivered: Overdracht"}},
                            {"languages", {"Your message to"}},
                            {"text_excludes", {"Uw bericht", "Undelivered / Undelivered"}}}));
    auto en_nl = Scenario{}.languages({"en", "nl"}).build();
    REQUIRE_CHECK_OK(
        check(dir, "en_nl", en_nl,
              {{"subject_contains", {"Undelivered: Overdracht"}},
               {"languages",
                {"English version", "Your message to", "Nederlandse versie", "Uw bericht aan"}}}));
}

TEST_CASE("RET=FULL returns the whole message; RET=HDRS and the default only its headers") {
    TempDir dir;
    Scenario full;
    full.env.ret = spool::Ret::Full;
    REQUIRE_CHECK_OK(check(dir, "full", full.build(),
                           {{"return_type", "message/rfc822"},
                            {"return_cte", "7bit"},
                            {"returned_subject", "Overdracht patient 1234"},
                            {"returned_body_contains", "Vertrouwelijke inhoud."}}));

    Scenario config_full;  // ndr.return: full applies when the sender gave no RET
    config_full.config.ndr.return_full = true;
    REQUIRE_CHECK_OK(
        check(dir, "config_full", config_full.build(), {{"return_type", "message/rfc822"}}));

    Scenario hdrs = config_full;  // the sender's RET=HDRS wins over ndr.return: full
    hdrs.env.ret = spool::Ret::Hdrs;
    auto msg = hdrs.build();
    REQUIRE_CHECK_OK(check(dir, "hdrs", msg, {{"return_type", "text/rfc822-headers"}}));
    CHECK(msg.bytes.find("Vertrouwelijke inhoud") == std::string::npos);
}

TEST_CASE("the report on a REQUIRETLS message returns its headers only, even with RET=FULL") {
    // RFC 8689 §5: the report goes back without REQUIRETLS, so it is redacted.
    TempDir dir;
    Scenario s;
    s.env.requiretls = true;
    s.env.ret = spool::Ret::Full;
    s.config.ndr.return_full = true;
    auto msg = s.reason(Reason::RequireTlsNotOffered).build();
    REQUIRE_CHECK_OK(check(dir, "requiretls", msg,
                           {{"return_type", "text/rfc822-headers"},
                            {"returned_subject", "Overdracht patient 1234"},
                            {"text_contains", {"REQUIRETLS"}}}));
    CHECK(msg.bytes.find("Vertrouwelijke inhoud") == std::string::npos);
}

TEST_CASE("ENVID and ORCPT come back as Original-Envelope-Id and Original-Recipient") {
    TempDir dir;
    Scenario s;
    s.env.envid = "QQ314159";
    s.env.recipients[0].orcpt = "rfc822;b.devries+2Bwork@ziekenhuis-west.nl";
    s.rcpts[0].orcpt = s.env.recipients[0].orcpt;
    auto rcpt = failed_recipient("5.7.10");
    rcpt["Original-Recipient"] = "rfc822; b.devries+work@ziekenhuis-west.nl";
    REQUIRE_CHECK_OK(check(
        dir, "orcpt", s.build(),
        {{"message_fields", {{"Original-Envelope-Id", "QQ314159"}}}, {"recipients", {rcpt}}}));
}

TEST_CASE("an 8-bit original is returned as 8bit and the report asks for 8BITMIME") {
    TempDir dir;
    Scenario s;
    s.env.body = spool::BodyType::EightBitMime;
    s.env.ret = spool::Ret::Full;
    s.original =
        "From: a.jansen@gemeente.nl\r\nSubject: =?utf-8?q?Caf=C3=A9_overleg?=\r\n"
        "Message-ID: <8bit@gemeente.nl>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Tot ziens in het café, één keer per week.\r\n";
    auto msg = s.build();
    CHECK(msg.eight_bit);
    REQUIRE_CHECK_OK(check(dir, "8bit", msg,
                           {{"return_type", "message/rfc822"},
                            {"return_cte", "8bit"},
                            {"subject_contains", {"Undelivered: Café overleg"}},
                            {"text_contains", {"Onderwerp: Café overleg", "Subject: Café overleg"}},
                            {"returned_subject", "Café overleg"},
                            {"returned_body_contains", "één keer"}}));
}

TEST_CASE("a non-ASCII recipient reads as itself in the text and as RFC 6533 utf-8 in the DSN") {
    TempDir dir;
    Scenario s;
    s.env.smtputf8 = true;
    s.env.recipients[0].address = "jürgen@ziekenhuis-west.nl";
    s.rcpts[0].address = "jürgen@ziekenhuis-west.nl";
    auto rcpt = failed_recipient("5.7.10");
    rcpt["Final-Recipient"] = "utf-8; j\\x{FC}rgen@ziekenhuis-west.nl";
    REQUIRE_CHECK_OK(check(dir, "utf8", s.build(),
                           {{"text_contains", {"Uw bericht aan jürgen@ziekenhuis-west.nl"}},
                            {"recipients", {rcpt}},
                            {"return_type", "message/global-headers"}}));
}

TEST_CASE("a delay notice says delayed, 4.x.x and until when it is retried") {
    TempDir dir;
    Scenario s;
    s.outcome(RcptOutcome::Deferred);
    s.rcpts[0].reason = Reason::None;
    s.rcpts[0].reply = "451 4.3.0 Try again later";
    s.rcpts[0].status = policy::next_step(policy::trouble_of_reply(451, "4.3.0"), {}).status;
    s.options.retry_until_ms = kArrival + 5LL * 86400 * 1000;
    auto rcpt = failed_recipient("4.3.0");
    rcpt["Action"] = "delayed";
    rcpt["Will-Retry-Until"] = "Fri, 27 Nov 2026 12:00:00 +0000";
    REQUIRE_CHECK_OK(check(dir, "delay", s.build(),
                           {{"subject_contains", {"Vertraagd / Delayed: Overdracht"}},
                            {"text_contains",
                             {"We will keep trying until 2026-11-27 13:00 (UTC+01:00)",
                              "We blijven het proberen tot 2026-11-27 13:00 (UTC+01:00)"}},
                            {"recipients", {rcpt}}}));

    Scenario tls;  // on_tls_failure: defer keeps the TLS words, with a 4.7.x status
    tls.outcome(RcptOutcome::Deferred);
    auto tls_rcpt = failed_recipient("4.7.10");
    tls_rcpt["Action"] = "delayed";
    tls_rcpt["Will-Retry-Until"] = "Fri, 27 Nov 2026 12:00:00 +0000";  // arrival + max_lifetime 5d
    REQUIRE_CHECK_OK(check(dir, "delay_tls", tls.build(),
                           {{"text_contains", {"does not offer encryption", kEnglishSafe}},
                            {"recipients", {tls_rcpt}}}));

    Scenario held;
    held.outcome(RcptOutcome::Held);
    REQUIRE_CHECK_OK(
        check(dir, "held", held.build(), {{"text_contains", {"has been held", "tegengehouden"}}}));
}

TEST_CASE("a success report (NOTIFY=SUCCESS) says delivered or relayed") {
    TempDir dir;
    Scenario s;
    s.outcome(RcptOutcome::Delivered);
    s.rcpts[0].reason = Reason::None;
    s.rcpts[0].reply = "250 2.0.0 Ok: queued as 4XyZ";
    s.rcpts[0].status = policy::delivered_status("2.0.0");
    s.rcpts[0].detail.clear();
    s.rcpts.push_back(s.rcpts[0]);
    s.rcpts[1].address = "c.bakker@ziekenhuis-west.nl";
    s.rcpts[1].relayed = true;
    auto a = failed_recipient("2.0.0");
    a["Action"] = "delivered";
    a["Diagnostic-Code"] = "smtp; 250 2.0.0 Ok: queued as 4XyZ";
    auto b = a;
    b["Final-Recipient"] = "rfc822; c.bakker@ziekenhuis-west.nl";
    b["Action"] = "relayed";
    REQUIRE_CHECK_OK(check(dir, "success", s.build(),
                           {{"subject_contains", {"Afgeleverd / Delivered: Overdracht"}},
                            {"text_contains", {"has been delivered", "is afgeleverd"}},
                            {"text_excludes", {kEnglishSafe, "d.smit"}},
                            {"recipients", {a, b}}}));
}

TEST_CASE("a report lists exactly the recipients it is given, never another one") {
    TempDir dir;
    Scenario s;
    s.rcpts.push_back(s.rcpts[0]);
    s.rcpts[1].address = "c.bakker@ziekenhuis-west.nl";
    s.rcpts[1].reason = Reason::TlsaMismatch;
    s.rcpts[1].status = Scenario::table_status(s.rcpts[1]);
    auto a = failed_recipient("5.7.10");
    auto b = failed_recipient("5.7.5");
    b["Final-Recipient"] = "rfc822; c.bakker@ziekenhuis-west.nl";
    auto msg = s.build();
    REQUIRE_CHECK_OK(check(dir, "two", msg,
                           {{"recipients", {a, b}},
                            {"text_contains", {"b.devries@", "c.bakker@"}},
                            {"text_excludes", {"d.smit"}}}));
    // d.smit (delivered) appears only in the returned To: header, never in a field.
    CHECK(msg.bytes.find("rfc822; d.smit") == std::string::npos);
}

TEST_CASE("the builder refuses what would be a wrong report") {
    Scenario stranger;
    stranger.rcpts[0].address = "x@elsewhere.example";
    CHECK_THROWS_AS(stranger.build(), std::invalid_argument);

    Scenario mixed;
    mixed.rcpts.push_back(mixed.rcpts[0]);
    mixed.rcpts[1].address = "c.bakker@ziekenhuis-west.nl";
    mixed.rcpts[1].outcome = RcptOutcome::Delivered;
    mixed.rcpts[1].status = "2.0.0";
    CHECK_THROWS_AS(mixed.build(), std::invalid_argument);

    Scenario no_status;  // RFC 3464 §2.3.4: Status is required
    no_status.rcpts[0].status.clear();
    CHECK_THROWS_AS(no_status.build(), std::invalid_argument);

    Scenario null_sender;  // RFC 3461 §6.2: never a report about a report
    null_sender.env.sender.clear();
    CHECK_THROWS_AS(null_sender.build(), std::invalid_argument);
}

TEST_CASE("NOTIFY decides which reports a recipient gets") {
    spool::Envelope env;
    env.sender = "a@gemeente.nl";
    spool::Recipient r;
    CHECK(report_wanted(env, r, RcptOutcome::Bounced));
    CHECK(report_wanted(env, r, RcptOutcome::Expired));
    CHECK(report_wanted(env, r, RcptOutcome::Deferred));
    CHECK(report_wanted(env, r, RcptOutcome::Held));
    CHECK_FALSE(report_wanted(env, r, RcptOutcome::Delivered));
    r.notify = spool::kNotifyNever;
    CHECK_FALSE(report_wanted(env, r, RcptOutcome::Bounced));
    r.notify = spool::kNotifySuccess;
    CHECK(report_wanted(env, r, RcptOutcome::Delivered));
    CHECK_FALSE(report_wanted(env, r, RcptOutcome::Bounced));
    r.notify = spool::kNotifyFailure;
    CHECK_FALSE(report_wanted(env, r, RcptOutcome::Deferred));
    env.sender.clear();
    r.notify = 0;
    CHECK_FALSE(report_wanted(env, r, RcptOutcome::Bounced));
}

TEST_CASE("example reports, one per language order, for the README") {
    TempDir dir;
    for (auto [name, langs] :
         {std::pair<std::string, std::vector<std::string>>{"nl-en", {"nl", "en"}},
          {"en", {"en"}}}) {
        Scenario s;
        s.languages(langs);
        s.config.ndr.service_desk = "ICT-servicedesk gemeente, 030 123 45 67";
        s.config.partners[0].display_name = "Ziekenhuis West";
        s.options.message_id = "<01JD7Q3ZC0M8V2K9X4T6R5N1PA.example.ndr@relay.gemeente.nl>";
        auto msg = s.build();
        REQUIRE_CHECK_OK(check(dir, "example-" + name, msg, json::object()));
        std::string file = "example-" + name + ".eml";
        std::ofstream(dir.path / file, std::ios::binary) << msg.bytes;
        auto kept = std::filesystem::path(CHAINMAIL_SOURCE_DIR) / "relay/bounce/examples" / file;
        std::ifstream old(kept, std::ios::binary);
        std::string before((std::istreambuf_iterator<char>(old)), {});
        // The tracked examples are compared, never rewritten by a test run; a
        // deliberate change of the texts regenerates them with
        // CHAINMAIL_REGENERATE_EXAMPLES=1 and is reviewed in the diff.
        if (std::getenv("CHAINMAIL_REGENERATE_EXAMPLES")) {
            std::ofstream(kept, std::ios::binary) << msg.bytes;
            std::cout << "example report rewritten: " << kept.string() << "\n";
            continue;
        }
        INFO("differs from " << kept.string() << "; new bytes in " << (dir.path / file).string()
                             << "; regenerate with CHAINMAIL_REGENERATE_EXAMPLES=1");
        CHECK(before == msg.bytes);
    }
}
