#include <catch2/catch.hpp>

#include "policy/reply_classify.hpp"

using namespace chainmail::policy;

TEST_CASE("SMTP replies are classified by their first digit; the unknown is temporary") {
    struct Row {
        int code;
        ReplyClass expected;
    };
    const Row rows[] = {
        {250, ReplyClass::Ok},       {251, ReplyClass::Ok},       {354, ReplyClass::Ok},
        {421, ReplyClass::TempFail}, {450, ReplyClass::TempFail}, {452, ReplyClass::TempFail},
        {550, ReplyClass::PermFail}, {554, ReplyClass::PermFail}, {0, ReplyClass::TempFail},
        {199, ReplyClass::TempFail}, {600, ReplyClass::TempFail}, {999, ReplyClass::TempFail}};
    for (const Row& r : rows) {
        INFO(r.code);
        CHECK(classify(SmtpReply{r.code, "", ""}) == r.expected);
    }
}

// The one RFC 3463 parser: the SMTP client's replies and the NDR's Status
// field both read the code with it.
TEST_CASE("enhanced status codes are recognised only when well formed") {
    CHECK(parse_enhanced_status("5.1.1 User unknown") == "5.1.1");
    CHECK(parse_enhanced_status("5.7.1 Relay access denied") == "5.7.1");
    CHECK(parse_enhanced_status("4.7.0 Try later") == "4.7.0");
    CHECK(parse_enhanced_status("4.7.10") == "4.7.10");
    CHECK(parse_enhanced_status("2.0.0 Ok") == "2.0.0");
    CHECK(parse_enhanced_status("2.6.0 Ok") == "2.6.0");
    CHECK(parse_enhanced_status("5.999.999 x") == "5.999.999");
    // White space or the end of the line ends the code (RFC 5321 §4.2).
    CHECK(parse_enhanced_status("5.7.1\ttab") == "5.7.1");
    CHECK(parse_enhanced_status("5.7.1\r\n") == "5.7.1");
    CHECK(parse_enhanced_status("5.7.1\n") == "5.7.1");
    // RFC 3463 §2: class 2, 4 or 5; subject and detail 1-3 digits, no leading zero.
    CHECK_FALSE(parse_enhanced_status("3.1.1 no"));
    CHECK_FALSE(parse_enhanced_status("1.0.0 no"));
    CHECK_FALSE(parse_enhanced_status("5.01.1 no"));
    CHECK_FALSE(parse_enhanced_status("5.1.01 no"));
    CHECK_FALSE(parse_enhanced_status("5.1000.1 no"));
    CHECK_FALSE(parse_enhanced_status("5.1.1000 no"));
    CHECK_FALSE(parse_enhanced_status("5.1.1x"));
    CHECK_FALSE(parse_enhanced_status("5.1.1-x"));
    CHECK_FALSE(parse_enhanced_status("5..1 no"));
    CHECK_FALSE(parse_enhanced_status("5.1. no"));
    CHECK_FALSE(parse_enhanced_status("5.1 no"));
    CHECK_FALSE(parse_enhanced_status("51.1.1 no"));
    CHECK_FALSE(parse_enhanced_status(" 5.1.1 no"));
    CHECK_FALSE(parse_enhanced_status("No such user"));
    CHECK_FALSE(parse_enhanced_status("Ok"));
    CHECK_FALSE(parse_enhanced_status(""));
}

TEST_CASE("reply lines parse into code, enhanced code and text") {
    bool last = false;
    auto r = parse_reply_line("250-PIPELINING\r\n", last);
    REQUIRE(r);
    CHECK(r->code == 250);
    CHECK_FALSE(last);
    CHECK(r->text == "PIPELINING");
    r = parse_reply_line("550 5.7.1 Relaying denied", last);
    REQUIRE(r);
    CHECK(last);
    CHECK(r->enhanced == "5.7.1");
    CHECK(r->text == "Relaying denied");
    r = parse_reply_line("451 5.7.1 mismatched class", last);  // RFC 3463: classes must agree
    REQUIRE(r);
    CHECK(r->enhanced.empty());
    CHECK(parse_reply_line("221", last));
    CHECK(last);
    CHECK_FALSE(parse_reply_line("25 short", last));
    CHECK_FALSE(parse_reply_line("250_x", last));
    CHECK_FALSE(parse_reply_line("hello", last));
}
