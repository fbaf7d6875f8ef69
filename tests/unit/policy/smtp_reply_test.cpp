// The relay's one SMTP reply parser: replies (RFC 5321 §4.2), enhanced
// status codes (RFC 3463) and EHLO keywords.
#include <catch2/catch.hpp>

#include "policy/smtp_reply.hpp"

using namespace chainmail::policy;

namespace {

ReplyParser::Status feed_all(ReplyParser& p, std::initializer_list<std::string_view> lines) {
    ReplyParser::Status s = ReplyParser::Status::Malformed;
    for (auto l : lines) s = p.feed(l);
    return s;
}

}  // namespace

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

TEST_CASE("a multi-line reply with an enhanced status code", "[reply]") {
    ReplyParser p;
    CHECK(p.feed("250-2.0.0 first") == ReplyParser::Status::Incomplete);
    CHECK(p.feed("250 2.0.0 second") == ReplyParser::Status::Complete);
    const SmtpReply r = p.take();
    CHECK(r.code == 250);
    CHECK(r.enhanced == "2.0.0");
    CHECK(r.lines == std::vector<std::string>{"first", "second"});
    CHECK(r.str() == "250 2.0.0 first second");
}

TEST_CASE("replies that are not SMTP are malformed", "[reply]") {
    ReplyParser p;
    CHECK(p.feed("hello") == ReplyParser::Status::Malformed);
    ReplyParser q;
    CHECK(feed_all(q, {"250-a", "550 b"}) == ReplyParser::Status::Malformed);  // §4.2.1
    ReplyParser r;
    CHECK(r.feed("250") == ReplyParser::Status::Complete);
    CHECK(r.take().code == 250);
    ReplyParser s;
    CHECK(s.feed("550 2.0.0 class does not match") == ReplyParser::Status::Complete);
    CHECK(s.take().enhanced.empty());
}

TEST_CASE("EHLO keywords", "[reply]") {
    ReplyParser p;
    feed_all(p, {"250-mx.example.test", "250-PIPELINING", "250-SIZE 1000", "250-starttls",
                 "250-DSN", "250-8BITMIME", "250-chunking", "250 SMTPUTF8"});
    const Extensions e = parse_ehlo(p.take());
    CHECK(e.esmtp);
    CHECK(e.pipelining);
    CHECK(e.size);
    CHECK(e.size_limit == 1000);
    CHECK(e.starttls);
    CHECK(e.dsn);
    CHECK(e.eightbitmime);
    CHECK(e.smtputf8);
    CHECK(e.chunking);
    CHECK_FALSE(e.requiretls);
    ReplyParser q;
    feed_all(q, {"250-mx.example.test", "250 PIPELINING"});
    CHECK_FALSE(parse_ehlo(q.take()).chunking);
}

TEST_CASE("reply lines parse into code, enhanced code and text", "[reply]") {
    ReplyParser p;
    CHECK(p.feed("250-PIPELINING\r\n") == ReplyParser::Status::Incomplete);
    CHECK(p.feed("250 SIZE") == ReplyParser::Status::Complete);
    SmtpReply r = p.take();
    CHECK(r.code == 250);
    CHECK(r.lines == std::vector<std::string>{"PIPELINING", "SIZE"});
    CHECK(p.feed("550 5.7.1 Relaying denied") == ReplyParser::Status::Complete);
    r = p.take();
    CHECK(r.code == 550);
    CHECK(r.enhanced == "5.7.1");
    CHECK(r.lines == std::vector<std::string>{"Relaying denied"});
    CHECK(p.feed("550 5.7.1\tTab") == ReplyParser::Status::Complete);
    CHECK(p.take().lines == std::vector<std::string>{"Tab"});
    // RFC 3463 §2: the classes must agree.
    CHECK(p.feed("451 5.7.1 mismatched class") == ReplyParser::Status::Complete);
    r = p.take();
    CHECK(r.enhanced.empty());
    CHECK(r.lines == std::vector<std::string>{"5.7.1 mismatched class"});
    CHECK(p.feed("221") == ReplyParser::Status::Complete);
    CHECK(p.take().code == 221);
    CHECK(ReplyParser().feed("25 short") == ReplyParser::Status::Malformed);
    CHECK(ReplyParser().feed("250_x") == ReplyParser::Status::Malformed);
    CHECK(ReplyParser().feed("199 too low") == ReplyParser::Status::Malformed);
    CHECK(ReplyParser().feed("600 too high") == ReplyParser::Status::Malformed);
}
