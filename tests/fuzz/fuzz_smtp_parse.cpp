// Fuzzes the SMTP command line scanner and parser (relay/inbound/line_reader,
// relay/inbound/smtp_parse): every input a client can send on one line.
// Properties: no crash; a parsed address is a valid mailbox; xtext and base64
// decode what they encode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "policy/smtp_codec.hpp"
#include "policy/smtp_reply.hpp"
#include "relay/inbound/line_reader.hpp"
#include "relay/inbound/smtp_parse.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace chainmail::inbound;

namespace {

void check_mail(std::string_view arg) {
    auto r = parse_mail(arg);
    if (auto* m = std::get_if<MailParams>(&r)) {
        FUZZ_CHECK(m->address.empty() || valid_mailbox(m->address, m->smtputf8));
        FUZZ_CHECK(m->envid.size() <= 100);
    } else {
        const auto& e = std::get<ParseError>(r);
        FUZZ_CHECK(e.code >= 500 && e.code < 600 && !e.text.empty());
    }
}

void check_rcpt(std::string_view arg, bool smtputf8) {
    auto r = parse_rcpt(arg, smtputf8);
    if (auto* p = std::get_if<RcptParams>(&r)) {
        FUZZ_CHECK(!p->address.empty());
        FUZZ_CHECK(p->orcpt.size() <= 500);
        // RFC 3461 §4.1: NEVER stands alone.
        FUZZ_CHECK(!(p->notify & chainmail::spool::kNotifyNever) ||
                   p->notify == chainmail::spool::kNotifyNever);
    } else {
        FUZZ_CHECK(std::get<ParseError>(r).code >= 500);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    // As the session reads it: one line of at most 512 octets (RFC 5321 §4.5.3.1.4).
    const LineScan scan = scan_line(in, 512);
    FUZZ_CHECK(scan.length <= in.size() && scan.length <= 512);
    std::string_view line = in;
    if (scan.status == LineStatus::Complete) {
        FUZZ_CHECK(scan.length >= 2 && in.substr(scan.length - 2, 2) == "\r\n");
        line = in.substr(0, scan.length - 2);
    }

    const Command c = parse_command(line);
    if (!c.arg.empty()) FUZZ_CHECK(c.arg.data() >= line.data() && c.arg.end() <= line.end());
    check_mail(c.verb == Verb::Mail ? c.arg : line);
    check_rcpt(c.verb == Verb::Rcpt ? c.arg : line, false);
    check_rcpt(line, true);

    valid_mailbox(in, false);
    valid_mailbox(in, true);

    if (auto x = chainmail::policy::xtext_decode(in)) {
        FUZZ_CHECK(chainmail::policy::xtext_valid(in));
        auto again = chainmail::policy::xtext_decode(chainmail::policy::xtext_encode(*x));
        FUZZ_CHECK(again && *again == *x);
    }
    if (auto b = chainmail::policy::base64_decode(in)) {
        auto again = chainmail::policy::base64_decode(chainmail::policy::base64_encode(*b));
        FUZZ_CHECK(again && *again == *b);
    }
    return 0;
}
