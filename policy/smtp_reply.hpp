// smtp_reply: the relay's one SMTP reply type and its pure parsers: multi-line
// replies (RFC 5321 §4.2.1), enhanced status codes (RFC 3463) and EHLO
// keywords. No I/O; malformed input is reported, never thrown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainmail::policy {

struct SmtpReply {
    int code = 0;                    // 0: no reply (connection lost, timeout, local failure)
    std::string enhanced;            // "2.0.0" when the server gave one, else empty
    std::vector<std::string> lines;  // text of each line, after code and enhanced code

    bool positive() const { return code >= 200 && code < 300; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500 && code < 600; }
    // "250 2.0.0 Ok: queued" (lines joined by a space), for logs and NDRs.
    std::string str() const;
};

// "5.1.1 User unknown" -> "5.1.1"; nullopt when the text does not start with
// a valid enhanced status code (RFC 3463 §2: class 2, 4 or 5; subject and
// detail 0-999 without leading zeros) followed by white space or the end.
// The one parser of "X.Y.Z" in the relay: replies, reports and logs use it.
std::optional<std::string> parse_enhanced_status(std::string_view text);

// Accumulates reply lines (without CRLF) until a reply is complete.
class ReplyParser {
  public:
    enum class Status { Incomplete, Complete, Malformed };
    static constexpr std::size_t kMaxLines = 200;

    // `line` without its CRLF (one is ignored). After Complete, take() returns
    // the reply and the parser starts afresh.
    Status feed(std::string_view line);
    SmtpReply take();

  private:
    SmtpReply reply_;
    bool started_ = false;
};

// The ESMTP extensions a server offered in its EHLO reply.
struct Extensions {
    bool esmtp = false;  // EHLO accepted (false after a HELO fallback)
    bool pipelining = false;
    bool chunking = false;  // RFC 3030 §2: BDAT instead of DATA
    bool starttls = false;
    bool eightbitmime = false;
    bool smtputf8 = false;
    bool dsn = false;
    bool requiretls = false;
    bool enhancedstatuscodes = false;
    bool size = false;
    std::uint64_t size_limit = 0;  // 0 with size: no fixed limit (RFC 1870 §4)
};

Extensions parse_ehlo(const SmtpReply& ehlo_reply);

}  // namespace chainmail::policy
