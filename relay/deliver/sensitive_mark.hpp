// sensitive_mark: whether the sender marked a message as sensitive (a
// subject tag or a header value from config `sensitive`), and the message
// with those subject tags removed before delivery. Pure text functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace chainmail::deliver {

// The first mark found, in words for the delivery log: `subject tag
// "[vertrouwelijk]"` or `header "Sensitivity: Private"`; empty when unmarked.
// Header names compare case-insensitively, values and tags too; folded
// header lines are unfolded first. Only the header section is read.
std::string sensitive_why(const config::Sensitive& sensitive, std::string_view message);

// RFC 8689 §3: the message has the header field "TLS-Required: No".
bool tls_required_no(std::string_view message);

// The message with every configured subject tag removed from the Subject
// header (and one space after it); nullopt when there is none, so that the
// message is not copied (it may be many megabytes).
std::optional<std::string> strip_subject_tags(const config::Sensitive& sensitive,
                                              std::string_view message);

}  // namespace chainmail::deliver
