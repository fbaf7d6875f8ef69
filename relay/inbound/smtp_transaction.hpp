// smtp_transaction: what one MAIL ... DATA exchange has gathered. Separate
// from the session (connection state), as in Postfix and OpenSMTPD; RSET,
// EHLO, STARTTLS and the end of DATA start a new one.
#pragma once

#include <cstdint>
#include <optional>

#include "relay/spool/envelope.hpp"

namespace chainmail::inbound {

struct Transaction {
    bool active = false;  // MAIL was accepted
    spool::Envelope env;  // sender, recipients, DSN, body type, SMTPUTF8, REQUIRETLS
    std::optional<std::uint64_t> declared_size;  // RFC 1870 SIZE=

    void reset() { *this = Transaction{}; }
};

}  // namespace chainmail::inbound
