// session_deadlines: the inbound server's deadline per session state, one
// table row each (as the client's kStages in relay/deliver/smtp_client.cpp).
// A state that waits for the client takes its bound from `limits`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

namespace chainmail::inbound {

enum class SessionState : std::uint8_t {
    Greeting,      // from accept to the client's first command
    Command,       // waiting for a command line (or a SASL response)
    DataBlock,     // waiting for the next block of the message in DATA
    Reply,         // writing our replies
    Spooling,      // the spool makes the message durable before 250
    TlsHandshake,  // after 220 to STARTTLS
    TlsShutdown,   // close_notify after QUIT
    TimeoutReply,  // a deadline passed: the 421 may still go out
};

struct SessionDeadline {
    SessionState state;
    std::string_view label;  // "waiting for a command"
    std::chrono::seconds fixed;
    config::Duration config::Limits::*limit;  // when set, the bound comes from limits.*
};

const SessionDeadline& deadline_info(SessionState s);
std::chrono::seconds deadline(SessionState s, const config::Limits& limits);
std::string_view to_string(SessionState s);

}  // namespace chainmail::inbound
