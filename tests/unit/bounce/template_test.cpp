#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relay/bounce/mime_encode.hpp"
#include "relay/bounce/ndr_reason.hpp"
#include "relay/bounce/ndr_template.hpp"
#include "tests/unit/bounce/ndr_scenario.hpp"

using namespace chainmail::bounce;

TEST_CASE("the compiled-in templates are exactly the files in relay/bounce/templates") {
    auto dir = std::filesystem::path(CHAINMAIL_SOURCE_DIR) / "relay/bounce/templates";
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".txt") ++files;
    }
    REQUIRE(shipped_templates().size() == files);
    for (const ShippedTemplate& t : shipped_templates()) {
        INFO(t.file << ": run relay/bounce/templates/embed.py after editing a template");
        std::ifstream in(dir / std::string(t.file), std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        CHECK(text.str() == t.text);
    }
}

TEST_CASE("every template exists in Dutch and English and passes validation") {
    auto t = NdrTemplates::shipped();
    auto check_name = [&](std::string_view name) {
        for (const char* lang : {"nl", "en"}) {
            INFO(name << "." << lang);
            REQUIRE(t.has(name, lang));
            CHECK(NdrTemplates::validate(name, t.get(name, lang)) == "");
        }
    };
    for (auto name : kReasonTemplates) check_name(name);
    for (auto name : kFrameTemplates) check_name(name);
}

TEST_CASE("a template directory overrides one text and rejects bad ones") {
    chainmail::bounce::test::TempDir dir;
    std::ofstream(dir.path / "null_mx.en.txt")
        << "{recipient} cannot get mail: custom words.\n[ICT]\n- Host: {host}\n";
    std::ofstream(dir.path / "null_mx.de.txt") << "{recipient} nimmt keine Post an.\n[ICT]\n";
    std::ofstream(dir.path / "expired.nl.txt") << "{recipient} en {unknown}\n[ICT]\n";
    std::ofstream(dir.path / "nonsense.en.txt") << "x\n";
    std::ofstream(dir.path / "delayed.en.txt") << "no marker line {recipient}\n";
    std::vector<std::string> errors;
    auto t = NdrTemplates::load(dir.path.string(), errors);
    CHECK(errors.size() == 3);
    CHECK(t.get("null_mx", "en").find("custom words") != std::string_view::npos);
    CHECK(t.get("null_mx", "de").find("keine Post") != std::string_view::npos);
    CHECK(t.get("expired", "nl").find("{unknown}") == std::string_view::npos);  // shipped kept
    CHECK(t.get("footer", "de") == t.get("footer", "en"));  // missing language: English

    std::vector<std::string> missing;
    NdrTemplates::load((dir.path / "absent").string(), missing);
    CHECK(missing.size() == 1);
}

TEST_CASE("expand leaves out lines whose placeholder is empty and wraps at 76") {
    Placeholders v{{"recipient", "b@x.nl"}, {"contact", ""}};
    std::string out = expand("To {recipient}.\nContact: {contact}\n\n- Host: {host}\nEnd.\n", v);
    CHECK(out == "To b@x.nl.\n\nEnd.\n");
    std::string long_line(40, 'a');
    out = expand("- " + long_line + " " + long_line + "\n", v);
    CHECK(out == "- " + long_line + "\n  " + long_line + "\n");
}

TEST_CASE("the outcome gives the Action, the kind and the template; the status is given") {
    // The statuses are the failure table's (tests/unit/policy/failure_table_test.cpp).
    using chainmail::policy::RcptOutcome;
    using chainmail::policy::Reason;
    CHECK(action_word(RcptOutcome::Bounced, false) == "failed");
    CHECK(action_word(RcptOutcome::Expired, false) == "failed");
    CHECK(action_word(RcptOutcome::Deferred, false) == "delayed");
    CHECK(action_word(RcptOutcome::Held, false) == "delayed");
    CHECK(action_word(RcptOutcome::Delivered, false) == "delivered");
    CHECK(action_word(RcptOutcome::Delivered, true) == "relayed");
    CHECK(report_kind(RcptOutcome::Expired) == ReportKind::Failure);
    CHECK(report_kind(RcptOutcome::Held) == ReportKind::Hold);
    CHECK(report_kind(RcptOutcome::Deferred) == ReportKind::Delay);
    CHECK(report_kind(RcptOutcome::Delivered) == ReportKind::Success);
    CHECK(to_string(ReportKind::Failure) == "non-delivery");
    CHECK(to_string(ReportKind::Hold) == "delay");
    CHECK(template_for(Reason::Expired, RcptOutcome::Expired, "") == "expired");
    CHECK(template_for(Reason::Expired, RcptOutcome::Deferred, "") == "delayed");
    CHECK(template_for(Reason::None, RcptOutcome::Bounced, "550 No such user") == "peer_rejected");
    CHECK(template_for(Reason::None, RcptOutcome::Deferred, "421 4.7.0 Later") == "temp_fail");
    CHECK(template_for(Reason::None, RcptOutcome::Held, "") == "delayed");
    CHECK(template_for(Reason::None, RcptOutcome::Bounced, "") == "temp_fail");
    CHECK(template_for(Reason::TlsaMismatch, RcptOutcome::Delivered, "") == "success");
}

TEST_CASE("MIME encodings stay within their line limits") {
    std::string text(300, 'x');
    text += " trailing \nnext=line\n";
    std::string qp = quoted_printable(text);
    std::size_t start = 0;
    while (start < qp.size()) {
        std::size_t eol = qp.find("\r\n", start);
        REQUIRE(eol != std::string::npos);
        CHECK(eol - start <= 76);
        start = eol + 2;
    }
    CHECK(qp.find("trailing=20\r\n") != std::string::npos);
    CHECK(qp.find("next=3Dline") != std::string::npos);

    std::string words = encode_words(std::string(30, 'e') + "ë" + std::string(60, 'e'));
    for (std::size_t pos = 0; pos < words.size();) {
        std::size_t sp = words.find(' ', pos);
        if (sp == std::string::npos) sp = words.size();
        CHECK(sp - pos <= 75);
        pos = sp + 1;
    }
    CHECK(decode_words(words) == std::string(30, 'e') + "ë" + std::string(60, 'e'));
    CHECK(decode_words("=?ISO-8859-1?Q?caf=E9?= =?utf-8?b?w6k=?= ok") == "caféé ok");
    CHECK(utf8_addr_xtext("jü+x@x.nl") == "j\\x{FC}\\x{2B}x@x.nl");
}
