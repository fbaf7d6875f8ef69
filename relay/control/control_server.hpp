// control_server: the Unix socket that `chainmail queue` commands reach the
// running serve through (control_socket). The socket is mode 0600 in a
// directory that only its owner (or root) can write; a peer whose uid
// (SO_PEERCRED) is neither serve's own nor root is refused. One request
// line, one reply line, per connection (control_protocol.hpp).
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <string>

#include "relay/outbound/outbound.hpp"

namespace chainmail::control {

class ControlServer {
  public:
    ControlServer(boost::asio::any_io_executor ex, std::string path, outbound::Outbound& outbound);
    ~ControlServer();  // stop()
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Checks the directory, replaces a stale socket left by a crash, binds,
    // sets mode 0600 and accepts. Throws std::runtime_error saying what is
    // wrong (directory writable by others, another serve listening, ...).
    void start();
    // Stops accepting and removes the socket file; commands in progress end
    // on their own. Idempotent.
    void stop();
    const std::string& path() const { return path_; }

  private:
    struct State;
    std::string path_;
    std::shared_ptr<State> state_;
};

}  // namespace chainmail::control
