// The pure parsers: replies, EHLO keywords, dot-stuffing, xtext.
#include <catch2/catch.hpp>

#include "relay/deliver/smtp_client.hpp"
#include "relay/deliver/smtp_reply.hpp"

using namespace chainmail::deliver;

namespace {

ReplyParser::Status feed_all(ReplyParser& p, std::initializer_list<std::string_view> lines) {
    ReplyParser::Status s = ReplyParser::Status::Malformed;
    for (auto l : lines) s = p.feed(l);
    return s;
}

}  // namespace

TEST_CASE("a multi-line reply with an enhanced status code", "[reply]") {
    ReplyParser p;
    CHECK(p.feed("250-2.0.0 first") == ReplyParser::Status::Incomplete);
    CHECK(p.feed("250 2.0.0 second") == ReplyParser::Status::Complete);
    const Reply r = p.take();
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
                 "250-DSN", "250-8BITMIME", "250 SMTPUTF8"});
    const Extensions e = parse_ehlo(p.take());
    CHECK(e.esmtp);
    CHECK(e.pipelining);
    CHECK(e.size);
    CHECK(e.size_limit == 1000);
    CHECK(e.starttls);
    CHECK(e.dsn);
    CHECK(e.eightbitmime);
    CHECK(e.smtputf8);
    CHECK_FALSE(e.requiretls);
}

TEST_CASE("dot-stuffing and the end of data", "[reply]") {
    CHECK(dot_stuff(".a\r\nb\r\n..c\r\n") == "..a\r\nb\r\n...c\r\n.\r\n");
    CHECK(dot_stuff("no final newline") == "no final newline\r\n.\r\n");
    CHECK(dot_stuff("") == ".\r\n");
    // A period after a bare LF starts a line too; one in the middle stays single.
    CHECK(dot_stuff("a\n.b\r\nc.d\r\n.") == "a\n..b\r\nc.d\r\n..\r\n.\r\n");
    CHECK(dot_stuff(".\r\n.\r\n") == "..\r\n..\r\n.\r\n");
}
