#include "policy/reply_classify.hpp"

namespace chainmail::policy {

ReplyClass classify(const SmtpReply& reply) {
    // RFC 5321 §4.2.1: the first digit decides; 1yz is never used in SMTP.
    if (reply.code >= 200 && reply.code < 400) return ReplyClass::Ok;
    if (reply.code >= 500 && reply.code < 600) return ReplyClass::PermFail;
    return ReplyClass::TempFail;  // 4xx, and anything we do not understand
}

std::string_view to_string(ReplyClass c) {
    switch (c) {
        case ReplyClass::Ok:
            return "ok";
        case ReplyClass::TempFail:
            return "temp-fail";
        case ReplyClass::PermFail:
            return "perm-fail";
    }
    return "?";
}

}  // namespace chainmail::policy
