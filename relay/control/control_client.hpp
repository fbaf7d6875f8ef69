// control_client: the `chainmail queue` side of the control socket: connect,
// send one request, wait for the one reply. Blocking; for the command line.
// Every failure is a value that says what to do about it.
#pragma once

#include <chrono>
#include <string>
#include <variant>

#include "relay/control/control_protocol.hpp"

namespace chainmail::control {

struct ClientError {
    enum class Kind {
        NotRunning,  // no socket, or nothing listens on it
        Denied,      // file permissions or the peer-credential check
        Broken,      // anything else: no answer, a malformed answer, I/O error
    };
    Kind kind = Kind::Broken;
    std::string message;  // a whole sentence for the operator
};

// `timeout` bounds the whole exchange; hold, delete and bounce may wait for
// a delivery attempt in flight to stop.
std::variant<Reply, ClientError> call(const std::string& path, const Request& request,
                                      std::chrono::milliseconds timeout);

}  // namespace chainmail::control
