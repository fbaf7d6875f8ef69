// smtp_reply: pure parsers for what an SMTP server says: multi-line replies
// (RFC 5321 §4.2.1), enhanced status codes (RFC 3463) and EHLO keywords. No I/O;
// malformed input is reported, never thrown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chainmail::deliver {

struct Reply {
    int code = 0;                    // 0: no reply (connection lost, timeout, local failure)
    std::string enhanced;            // "2.0.0" when the server gave one, else empty
    std::vector<std::string> lines;  // text of each line, after code and enhanced code

    bool positive() const { return code >= 200 && code < 300; }
    bool intermediate() const { return code >= 300 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500 && code < 600; }
    // "250 2.0.0 Ok: queued" (lines joined by a space), for logs and NDRs.
    std::string str() const;
};

// Accumulates reply lines (without CRLF) until a reply is complete.
class ReplyParser {
  public:
    enum class Status { Incomplete, Complete, Malformed };
    static constexpr std::size_t kMaxLines = 200;

    // After Complete, take() returns the reply and the parser starts afresh.
    Status feed(std::string_view line);
    Reply take();

  private:
    Reply reply_;
    bool started_ = false;
};

// The ESMTP extensions a server offered in its EHLO reply.
struct Extensions {
    bool esmtp = false;  // EHLO accepted (false after a HELO fallback)
    bool pipelining = false;
    bool starttls = false;
    bool eightbitmime = false;
    bool smtputf8 = false;
    bool dsn = false;
    bool requiretls = false;
    bool enhancedstatuscodes = false;
    bool size = false;
    std::uint64_t size_limit = 0;  // 0 with size: no fixed limit (RFC 1870 §4)
};

Extensions parse_ehlo(const Reply& ehlo_reply);

}  // namespace chainmail::deliver
