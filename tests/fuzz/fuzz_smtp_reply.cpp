// Fuzzes the SMTP reply parser (policy/smtp_reply): whatever a remote
// server sends back, line by line, and the EHLO keywords read from it.
// Properties: no crash; a complete reply has one code in 200..599 on every
// line (RFC 5321 §4.2.1), at most kMaxLines lines, and an enhanced code only
// of the reply's class (RFC 3463 §2).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/smtp_reply.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace chainmail::policy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    ReplyParser parser;
    while (!in.empty()) {
        const std::size_t nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        switch (parser.feed(line)) {
            case ReplyParser::Status::Incomplete:
                break;
            case ReplyParser::Status::Malformed:
                parser.take();  // the client gives up on the connection; start afresh
                break;
            case ReplyParser::Status::Complete: {
                const SmtpReply r = parser.take();
                FUZZ_CHECK(r.code >= 200 && r.code <= 599);
                FUZZ_CHECK(!r.lines.empty() && r.lines.size() <= ReplyParser::kMaxLines);
                if (!r.enhanced.empty()) FUZZ_CHECK(r.enhanced[0] - '0' == r.code / 100);
                const std::string s = r.str();
                FUZZ_CHECK(s.substr(0, 3) == std::to_string(r.code));
                const Extensions e = parse_ehlo(r);
                FUZZ_CHECK(e.esmtp == r.positive());
                break;
            }
        }
    }
    return 0;
}
