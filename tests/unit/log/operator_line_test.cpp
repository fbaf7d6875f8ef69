// The operator's journal line: Postfix smtp(8) habits, Postfix 3.11's tls= form.
#include <catch2/catch.hpp>

#include "relay/log/operator_line.hpp"
#include "tests/unit/log/sample_event.hpp"

using namespace chainmail::log;
using chainmail::policy::RcptOutcome;
using chainmail::policy::Reason;

namespace {

DeliveryEvent delivered() {
    DeliveryEvent e = test::sample_delivered();
    e.queue_id = "01JDQ";
    e.reply = "250 2.0.0 Ok: queued as 4cbd";
    return e;
}

}  // namespace

TEST_CASE("a delivery reads like Postfix's smtp line, with partner and tls=required:achieved") {
    CHECK(operator_line(delivered(), RcptOutcome::Delivered, Reason::None) ==
          "01JDQ: to=<b@ziekenhuis-west.nl>, partner=ziekenhuis-west, "
          "relay=mx.ziekenhuis-west.nl[192.0.2.1]:25, delay=0.41, tls=dane-only:dane-ee, "
          "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4cbd)");
}

TEST_CASE("achieved: encrypt without authentication, none in the clear") {
    DeliveryEvent e = delivered();
    e.policy = "may";
    e.tls->auth = "none";
    CHECK_THAT(operator_line(e, RcptOutcome::Delivered, Reason::None),
               Catch::Contains(", tls=may:encrypt,"));
    e.tls.reset();
    CHECK_THAT(operator_line(e, RcptOutcome::Delivered, Reason::None),
               Catch::Contains(", tls=may:none,"));
}

TEST_CASE("a TLS failure names its reason where the achieved level would be") {
    DeliveryEvent e = delivered();
    e.event = Event::Bounced;
    e.tls.reset();
    e.policy = "encrypt";
    e.dsn = "5.7.10";
    e.reply = "the receiving server mx.x.nl does not offer encryption";
    e.ndr_queue_id = "01NDR";
    const std::string l = operator_line(e, RcptOutcome::Bounced, Reason::StartTlsNotOffered);
    CHECK_THAT(l, Catch::Contains(", tls=encrypt:starttls-not-offered, dsn=5.7.10, ndr=01NDR, "
                                  "status=bounced (the receiving server"));
}

TEST_CASE("nothing reached: relay=none and the required level alone") {
    DeliveryEvent e = delivered();
    e.tls.reset();
    e.host.clear();
    e.ip.clear();
    e.port = 0;
    e.dsn = "4.4.3";
    e.reply = "DNS server answered rcode 2";
    const std::string l = operator_line(e, RcptOutcome::Deferred, Reason::DnsTempFail);
    CHECK_THAT(l, Catch::Contains(", relay=none, "));
    CHECK_THAT(l, Catch::Contains(", tls=dane-only, dsn=4.4.3, status=deferred (DNS"));
}

TEST_CASE("a refusal in a plaintext session reached none; a lost connection reached nothing") {
    DeliveryEvent e = delivered();
    e.tls.reset();
    e.policy = "may";
    e.dsn = "4.3.0";
    e.reply = "451 4.3.0 mailbox temporarily unavailable";
    CHECK_THAT(operator_line(e, RcptOutcome::Deferred, Reason::None),
               Catch::Contains(", tls=may:none, dsn=4.3.0, status=deferred (451 4.3.0"));
    e.reply = "connection lost";
    CHECK_THAT(operator_line(e, RcptOutcome::Deferred, Reason::Unknown),
               Catch::Contains(", tls=may, dsn=4.3.0, status=deferred (connection lost)"));
}

TEST_CASE("held and expired are their own status words") {
    CHECK_THAT(operator_line(delivered(), RcptOutcome::Held, Reason::None),
               Catch::Contains(", status=held ("));
    CHECK_THAT(operator_line(delivered(), RcptOutcome::Expired, Reason::Expired),
               Catch::Contains(", status=expired ("));
}

TEST_CASE("a multi-line or hostile reply stays on one line") {
    DeliveryEvent e = delivered();
    e.reply = "550-5.1.1 first\r\n550 5.1.1 second\x1b[31m";
    const std::string l = operator_line(e, RcptOutcome::Bounced, Reason::None);
    CHECK(l.find('\n') == std::string::npos);
    CHECK(l.find('\r') == std::string::npos);
    CHECK(l.find('\x1b') == std::string::npos);
}

TEST_CASE("testing mode names what would have failed, by reason only") {
    DeliveryEvent e = delivered();
    e.would_fail = "tlsa-mismatch: no TLSA record matches, the chain was x, y";
    CHECK_THAT(operator_line(e, RcptOutcome::Delivered, Reason::None),
               Catch::Contains(", would_fail=tlsa-mismatch,"));
}

TEST_CASE("delay= as Postfix prints it") {
    CHECK(postfix_delay(0) == "0");
    CHECK(postfix_delay(0.41) == "0.41");
    CHECK(postfix_delay(5.43) == "5.4");
    CHECK(postfix_delay(22.7) == "22");
    CHECK(postfix_delay(432000.5) == "432000");
}
