// smtp_server: the inbound listeners and their accept loops on one
// io_context thread. Owns nothing a session needs after stop(): sessions
// share ServerCore, which outlives the server object.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "relay/inbound/auth.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/spool/spool.hpp"

namespace chainmail::inbound {

// An immutable snapshot of what sessions read; SIGHUP swaps in a new one,
// and a session keeps the snapshot it started with.
struct ServerState {
    std::shared_ptr<const config::Config> config;
    std::shared_ptr<boost::asio::ssl::context> tls;  // null: STARTTLS not offered
    std::shared_ptr<const UserDb> users;             // null: AUTH not offered
};

// Builds a snapshot: loads the TLS identity and the users file. Throws
// std::runtime_error with the reason (start-up, or a reload to refuse).
std::shared_ptr<const ServerState> make_server_state(const config::Config& cfg);

struct ServerOptions {
    // Postfix postscreen-style pregreet test: a client that sends before
    // this delay has passed gets 554 and is disconnected. 0 turns it off.
    std::chrono::milliseconds greet_delay{300};
    // Multiplies every session deadline (session_deadlines.hpp); tests use < 1.
    double deadline_scale = 1.0;
};

class Session;

// Shared by the server and every session.
struct ServerCore {
    ServerCore(spool::Spool& s, log::DeliveryLog& l) : spool(s), delivery_log(l) {}
    spool::Spool& spool;
    log::DeliveryLog& delivery_log;
    std::shared_ptr<const ServerState> state;
    ServerOptions options;
    std::unordered_set<Session*> sessions;
    bool stopping = false;
    std::function<void()> on_idle;  // called once when stopping and no session is left
};

class SmtpServer {
  public:
    SmtpServer(boost::asio::io_context& io, spool::Spool& spool, log::DeliveryLog& log,
               std::shared_ptr<const ServerState> state, ServerOptions options = {});
    ~SmtpServer();

    // Binds every listener of the configuration; throws on failure.
    void start();
    // New sessions use `state`; listeners are not rebound (that needs a restart).
    void reload(std::shared_ptr<const ServerState> state);
    // Stops accepting; idle sessions get 421 at once, a transaction in flight
    // is finished first. `done` runs when no session is left.
    void stop(std::function<void()> done);

    std::vector<std::string> endpoints() const;  // "127.0.0.1:2525", "[::1]:2525"
    std::size_t session_count() const { return core_->sessions.size(); }

  private:
    struct Listener;
    void accept_next(std::size_t index);

    boost::asio::io_context& io_;
    std::shared_ptr<ServerCore> core_;
    std::vector<std::unique_ptr<Listener>> listeners_;
};

}  // namespace chainmail::inbound
