// smtp_parse: pure parsing of SMTP command lines (RFC 5321 §4.1) and of the
// MAIL/RCPT parameters of SIZE, BODY, SMTPUTF8, DSN and REQUIRETLS. No I/O;
// an error is a value carrying the reply to send.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "relay/spool/envelope.hpp"

namespace chainmail::inbound {

enum class Verb : std::uint8_t {
    Ehlo,
    Helo,
    Mail,
    Rcpt,
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
    StartTls,
    Auth,
    Unknown
};

struct Command {
    Verb verb = Verb::Unknown;
    std::string_view arg;  // text after the verb and its separating space
};

// `line` is without CRLF. Verbs are case-insensitive (RFC 5321 §2.4).
Command parse_command(std::string_view line);

// A refusal: the basic code and the text, which starts with the enhanced code.
struct ParseError {
    int code = 501;
    std::string text;
};

struct MailParams {
    std::string address;                // without <>; empty for the null reverse-path
    std::optional<std::uint64_t> size;  // RFC 1870 SIZE=; UINT64_MAX when it overflowed
    spool::BodyType body = spool::BodyType::SevenBit;
    bool smtputf8 = false;
    spool::Ret ret = spool::Ret::Unspecified;
    std::string envid;  // xtext-decoded
    bool requiretls = false;
};

struct RcptParams {
    std::string address;
    std::uint8_t notify = 0;  // spool::NotifyBits
    std::string orcpt;        // "addr-type;xtext" as received
};

// `arg` is what follows the verb, e.g. "FROM:<a@b.nl> SIZE=10".
std::variant<MailParams, ParseError> parse_mail(std::string_view arg);
// `smtputf8` is whether MAIL carried SMTPUTF8 (RFC 6531 §3.4).
std::variant<RcptParams, ParseError> parse_rcpt(std::string_view arg, bool smtputf8);

// A mailbox (local-part@domain) as RFC 5321 §4.1.2 writes it; `utf8` lets
// UTF-8 octets through (RFC 6531 §3.3).
bool valid_mailbox(std::string_view s, bool utf8);

}  // namespace chainmail::inbound
