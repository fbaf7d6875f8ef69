// MAIL/RCPT parameters, xtext and command syntax, as tables.
#include <catch2/catch.hpp>

#include "relay/inbound/smtp_parse.hpp"

using namespace chainmail::inbound;
namespace spool = chainmail::spool;

namespace {

MailParams mail_ok(std::string_view arg) {
    auto r = parse_mail(arg);
    INFO(arg);
    REQUIRE(std::holds_alternative<MailParams>(r));
    return std::get<MailParams>(r);
}

ParseError mail_err(std::string_view arg) {
    auto r = parse_mail(arg);
    INFO(arg);
    REQUIRE(std::holds_alternative<ParseError>(r));
    return std::get<ParseError>(r);
}

RcptParams rcpt_ok(std::string_view arg, bool utf8 = false) {
    auto r = parse_rcpt(arg, utf8);
    INFO(arg);
    REQUIRE(std::holds_alternative<RcptParams>(r));
    return std::get<RcptParams>(r);
}

ParseError rcpt_err(std::string_view arg, bool utf8 = false) {
    auto r = parse_rcpt(arg, utf8);
    INFO(arg);
    REQUIRE(std::holds_alternative<ParseError>(r));
    return std::get<ParseError>(r);
}

}  // namespace

TEST_CASE("commands are recognised case-insensitively with their argument") {
    CHECK(parse_command("EHLO client.example").verb == Verb::Ehlo);
    CHECK(parse_command("ehlo client.example").arg == "client.example");
    CHECK(parse_command("mail FROM:<a@b.nl>").verb == Verb::Mail);
    CHECK(parse_command("StartTLS").verb == Verb::StartTls);
    CHECK(parse_command("DATA").arg.empty());
    CHECK(parse_command("XDATA").verb == Verb::Unknown);
    CHECK(parse_command("").verb == Verb::Unknown);
    CHECK(parse_command("MAILFROM:<a@b.nl>").verb == Verb::Unknown);
}

TEST_CASE("MAIL FROM: plain addresses and the null sender") {
    CHECK(mail_ok("FROM:<a@gemeente.nl>").address == "a@gemeente.nl");
    CHECK(mail_ok("from:<a@gemeente.nl>").address == "a@gemeente.nl");
    CHECK(mail_ok("FROM: <a@gemeente.nl>").address == "a@gemeente.nl");  // lenient, as Postfix
    CHECK(mail_ok("FROM:<>").address.empty());
    CHECK(mail_ok("FROM:<@relay.nl,@b.nl:a@gemeente.nl>").address == "a@gemeente.nl");
    CHECK(mail_ok("FROM:<\"john doe\"@gemeente.nl>").address == "\"john doe\"@gemeente.nl");
    CHECK(mail_ok("FROM:<a@[192.0.2.1]>").address == "a@[192.0.2.1]");
}

TEST_CASE("MAIL FROM: syntax errors are refused with a 5xx and an enhanced code") {
    struct Row {
        const char* arg;
        int code;
    };
    const Row rows[] = {
        {"<a@b.nl>", 501},
        {"FROM:a@b.nl", 501},
        {"FROM:<a@b.nl", 501},
        {"FROM:<a@b.nl>x", 501},
        {"FROM:<a@>", 553},
        {"FROM:<@b.nl>", 501},
        {"FROM:<a..b@c.nl>", 553},
        {"FROM:<a@-b.nl>", 553},
        {"FROM:<a b@c.nl>", 553},
        {"FROM:<jan@zürich.ch>", 553},
        {"FROM:<a@b.nl> SIZE=x", 501},
        {"FROM:<a@b.nl> FOO=1", 555},
        {"FROM:<a@b.nl> SIZE=1 SIZE=2", 501},
        {"FROM:<a@b.nl> BODY=BINARYMIME", 501},
        {"FROM:<a@b.nl> RET=ALL", 501},
        {"FROM:<a@b.nl> SMTPUTF8=yes", 501},
        {"FROM:<a@b.nl> ENVID=a+2", 501},
        {"FROM:<a@b.nl> ENVID=a+2c", 501},
        {"FROM:<a@b.nl> =x", 501},
    };
    for (const auto& row : rows) {
        ParseError e = mail_err(row.arg);
        INFO(row.arg);
        CHECK(e.code == row.code);
        CHECK(e.text.size() > 6);
        CHECK((e.text[0] == '5' && e.text[1] == '.'));
    }
}

TEST_CASE("MAIL FROM: SIZE, BODY, SMTPUTF8, DSN and REQUIRETLS parameters") {
    auto m = mail_ok("FROM:<a@b.nl> SIZE=10240 BODY=8BITMIME RET=HDRS ENVID=QQ+2B314 REQUIRETLS");
    CHECK(m.size == 10240u);
    CHECK(m.body == spool::BodyType::EightBitMime);
    CHECK(m.ret == spool::Ret::Hdrs);
    CHECK(m.envid == "QQ+314");
    CHECK(m.requiretls);
    CHECK_FALSE(m.smtputf8);

    CHECK(mail_ok("FROM:<a@b.nl> body=7bit ret=full").ret == spool::Ret::Full);
    CHECK(mail_ok("FROM:<a@b.nl> SIZE=99999999999999999999").size ==
          std::numeric_limits<std::uint64_t>::max());
    CHECK(mail_ok("FROM:<a@b.nl> AUTH=<>").address == "a@b.nl");

    auto u = mail_ok("FROM:<jan@zürich.ch> SMTPUTF8");
    CHECK(u.smtputf8);
    CHECK(u.address == "jan@zürich.ch");
    ParseError e = mail_err("FROM:<jan@zürich.ch>");
    CHECK(e.code == 553);
    CHECK(e.text.rfind("5.6.7", 0) == 0);
    // RFC 3461 §4.4: ENVID at most 100 characters.
    CHECK(mail_err("FROM:<a@b.nl> ENVID=" + std::string(101, 'x')).code == 501);
}

TEST_CASE("RCPT TO: addresses, Postmaster, NOTIFY and ORCPT") {
    CHECK(rcpt_ok("TO:<b@ziekenhuis-west.nl>").address == "b@ziekenhuis-west.nl");
    CHECK(rcpt_ok("TO:<Postmaster>").address == "Postmaster");  // RFC 5321 §4.1.1.3
    auto r = rcpt_ok("TO:<b@z.nl> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40z.nl");
    CHECK(r.notify == (spool::kNotifySuccess | spool::kNotifyFailure));
    CHECK(r.orcpt == "rfc822;b+40z.nl");
    CHECK(rcpt_ok("TO:<b@z.nl> notify=never").notify == spool::kNotifyNever);
    CHECK(rcpt_ok("TO:<b@z.nl> NOTIFY=DELAY").notify == spool::kNotifyDelay);
    CHECK(rcpt_ok("TO:<jan@zürich.ch>", true).address == "jan@zürich.ch");

    struct Row {
        const char* arg;
        int code;
    };
    const Row rows[] = {
        {"TO:<>", 501},
        {"<b@z.nl>", 501},
        {"TO:<b@z.nl> NOTIFY=NEVER,SUCCESS", 501},
        {"TO:<b@z.nl> NOTIFY=SOMETIMES", 501},
        {"TO:<b@z.nl> NOTIFY=FAILURE,FAILURE", 501},
        {"TO:<b@z.nl> NOTIFY=", 501},
        {"TO:<b@z.nl> ORCPT=b@z.nl", 501},
        {"TO:<b@z.nl> ORCPT=;b@z.nl", 501},
        {"TO:<b@z.nl> ORCPT=rfc822;b+4", 501},
        {"TO:<b@z.nl> SIZE=10", 555},
        {"TO:<postmaster@>", 553},
        {"TO:<jan@zürich.ch>", 553},
    };
    for (const auto& row : rows) {
        INFO(row.arg);
        CHECK(rcpt_err(row.arg).code == row.code);
    }
}
