// session_deadlines: the table. The waits on the client follow RFC 5321
// §4.5.3.2 (configurable); the others bound our own steps and follow Postfix.
#include "relay/inbound/session_deadlines.hpp"

#include <array>

namespace chainmail::inbound {
namespace {

using namespace std::chrono_literals;
using config::Limits;

const std::array<SessionDeadline, 8> kStates{{
    // RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes for a command.
    {SessionState::Greeting, "waiting for the first command", 0s, &Limits::command_timeout},
    {SessionState::Command, "waiting for a command", 0s, &Limits::command_timeout},
    // RFC 5321 §4.5.3.2.5 (the client's 3 minutes per data block), mirrored.
    {SessionState::DataBlock, "reading the message", 0s, &Limits::data_timeout},
    {SessionState::Reply, "sending a reply", 30s, nullptr},
    // The spool is ours: its own bound, not the client's.
    {SessionState::Spooling, "storing the message", 10min, nullptr},
    {SessionState::TlsHandshake, "negotiating TLS", 30s, nullptr},
    {SessionState::TlsShutdown, "closing TLS", 5s, nullptr},
    // RFC 5321 §4.5.3.2: after its timeout the server may close, with 421.
    {SessionState::TimeoutReply, "sending the timeout reply", 10s, nullptr},
}};

}  // namespace

const SessionDeadline& deadline_info(SessionState s) {
    return kStates.at(static_cast<std::size_t>(s));
}

std::chrono::seconds deadline(SessionState s, const Limits& limits) {
    const SessionDeadline& d = deadline_info(s);
    return d.limit ? limits.*d.limit : d.fixed;
}

std::string_view to_string(SessionState s) {
    return deadline_info(s).label;
}

}  // namespace chainmail::inbound
