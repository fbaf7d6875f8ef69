// reply_classify: an SMTP reply (RFC 5321 §4.2) to Ok / TempFail / PermFail.
// Anything malformed or unexpected is a TempFail, never a bounce.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chainmail::policy {

struct SmtpReply {
    int code = 0;          // 3 digits, e.g. 550
    std::string enhanced;  // "5.7.1" (RFC 3463), empty when absent
    std::string text;      // the text after the codes, lines joined by "\n"
};

enum class ReplyClass { Ok, TempFail, PermFail };

ReplyClass classify(const SmtpReply& reply);

// "5.1.1 User unknown" -> "5.1.1"; nullopt when the text does not start with
// a valid enhanced status code (RFC 3463 §2: class 2, 4 or 5; subject and
// detail 0-999 without leading zeros) followed by white space or the end.
// The one parser of "X.Y.Z" in the relay: replies, reports and logs use it.
std::optional<std::string> parse_enhanced_status(std::string_view text);

// One line of a reply ("250-PIPELINING") into a SmtpReply; nullopt when malformed.
// `last` is set when this is the final line (a space after the code).
std::optional<SmtpReply> parse_reply_line(std::string_view line, bool& last);

std::string_view to_string(ReplyClass c);

}  // namespace chainmail::policy
