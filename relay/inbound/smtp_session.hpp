// smtp_session: one inbound SMTP connection. The dialogue is one coroutine
// over a stream template (plain socket, then the TLS stream after STARTTLS);
// each verb has a check_ and a proceed_ step that only touch session state.
// Every read has a deadline; a peer's misbehaviour is a reply, never a throw.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "relay/inbound/session_deadlines.hpp"
#include "relay/inbound/smtp_parse.hpp"
#include "relay/inbound/smtp_server.hpp"
#include "relay/inbound/smtp_transaction.hpp"

namespace chainmail::inbound {

class DataReader;

// Received bytes not yet parsed. Starts small and grows only for long
// lines or DATA, then shrinks back, so that an idle session stays small.
class InputBuffer {
  public:
    std::string_view view() const { return {data_.get() + begin_, end_ - begin_}; }
    void consume(std::size_t n) {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }
    void clear() { begin_ = end_ = 0; }
    // Free space of at least min(`want`, room below `max_cap`) at the end.
    char* prepare(std::size_t want, std::size_t max_cap, std::size_t& avail);
    void commit(std::size_t n) { end_ += n; }
    void shrink_to(std::size_t cap);

  private:
    std::unique_ptr<char[]> data_;
    std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

// The dialogue of one connection: its state and the verbs, apart from the
// stream it runs on (BasicSession below), so that it is compiled once.
class Session {
  public:
    virtual ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Server shutdown: waiting for a command, 421 at once; in DATA, after its reply.
    virtual void begin_shutdown() = 0;

  protected:
    using Clock = std::chrono::steady_clock;
    enum class Action : std::uint8_t { Continue, Data, StartTls, Quit, Close };
    enum class SaslStep : std::uint8_t { None, PlainResponse, LoginUser, LoginPassword };

    Session(std::shared_ptr<ServerCore> core, const boost::asio::any_io_executor& ex,
            config::Listener listener);
    // The peer's address (`ec`: unknown), matched against relay_from.networks.
    void set_client(const boost::asio::ip::tcp::endpoint& ep, const boost::system::error_code& ec);

    boost::asio::awaitable<Action> finish_data(std::string message, const DataReader& reader);

    // `pending`: bytes the client sent after this line before seeing our reply,
    // as far as they are in our buffer.
    Action handle_line(std::string_view line, std::string_view pending);
    // Whether the client sent more that is still in the kernel's buffer. Asked
    // only for a command that must end what the client sends (RFC 2920 §3.1),
    // so that the commands inside a group cost no system call.
    virtual bool input_waiting() = 0;
    Action handle_sasl(std::string_view line);
    Action proceed_ehlo(const Command& c, bool extended);
    Action proceed_mail(const Command& c);
    Action proceed_rcpt(const Command& c);
    Action proceed_data(const Command& c);
    Action proceed_starttls(const Command& c);
    Action proceed_auth(const Command& c);
    bool check_pipelining(const Command& c, std::string_view pending);
    Action sync_error(std::string_view line, std::string_view pending);
    bool check_helo_seen();
    bool check_mail_allowed();
    bool relay_allowed() const;
    void after_starttls();
    Action auth_result(bool ok, const std::string& user);

    void reply(int code, std::string_view text);
    Action error(int code, std::string_view text);  // counts toward max_errors

    // A deadline from now (scaled by ServerOptions::deadline_scale).
    void arm(Clock::duration d);
    void disarm();
    Clock::duration scaled(Clock::duration d) const;

    const config::Config& cfg() const { return *state_->config; }

    std::shared_ptr<ServerCore> core_;
    std::shared_ptr<const ServerState> state_;
    boost::asio::steady_timer timer_;
    Clock::time_point deadline_;
    config::Listener listener_;
    InputBuffer in_;
    std::string out_;  // replies not yet sent (RFC 2920: sent before we block on a read)

    std::string client_ip_;
    bool client_in_networks_ = false;
    std::string helo_;
    bool esmtp_ = false;
    bool tls_active_ = false;
    std::string tls_version_, tls_cipher_;
    int tls_bits_ = 0;
    std::string auth_user_;
    SaslStep sasl_ = SaslStep::None;
    std::string sasl_user_;
    int errors_ = 0;
    bool timed_out_ = false;
    bool stopping_ = false;
    bool reading_command_ = false;
    bool closed_ = false;
    Transaction tx_;
};

// The session over a stream: `Socket` is the TCP socket in the server and an
// in-memory stream in tests (it needs what a TCP socket offers: async reads
// and writes, available, cancel, shutdown, close, remote_endpoint). After
// STARTTLS the same dialogue runs over an ssl::stream<Socket&>. The
// definitions are in smtp_session_io.hpp.
template <class Socket>
class BasicSession final : public Session,
                           public std::enable_shared_from_this<BasicSession<Socket>> {
  public:
    BasicSession(std::shared_ptr<ServerCore> core, Socket socket, config::Listener listener);

    void start();  // spawns run() on the socket's executor
    void begin_shutdown() override;
    bool input_waiting() override;

  private:
    boost::asio::awaitable<void> run();
    template <class Stream>
    boost::asio::awaitable<Action> command_loop(Stream& s);
    template <class Stream>
    boost::asio::awaitable<bool> fill(Stream& s, SessionState state);
    template <class Stream>
    boost::asio::awaitable<bool> flush(Stream& s);
    template <class Stream>
    boost::asio::awaitable<Action> read_data(Stream& s);
    void on_timer();

    Socket socket_;
};

// The server's sessions, instantiated in smtp_session_io.cpp.
using TcpSession = BasicSession<boost::asio::ip::tcp::socket>;
extern template class BasicSession<boost::asio::ip::tcp::socket>;

}  // namespace chainmail::inbound
