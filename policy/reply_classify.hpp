// reply_classify: an SMTP reply (RFC 5321 §4.2) to Ok / TempFail / PermFail.
// Anything malformed or unexpected is a TempFail, never a bounce.
#pragma once

#include <string_view>

#include "policy/smtp_reply.hpp"

namespace chainmail::policy {

enum class ReplyClass { Ok, TempFail, PermFail };

ReplyClass classify(const SmtpReply& reply);

std::string_view to_string(ReplyClass c);

}  // namespace chainmail::policy
