// smtp_client: one outbound SMTP connection to one host. open() connects,
// reads the greeting, says EHLO, negotiates STARTTLS as required and reports
// facts; transaction() may be called several times (RSET between); quit().
// Everything a peer can cause comes back as a value. Under Starttls::Required
// no MAIL is sent unless TLS is up and verified. A Connection runs on one
// thread (or strand) at a time.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/smtp_reply.hpp"
#include "policy/tls_decision.hpp"
#include "relay/spool/envelope.hpp"
#include "relay/tls/client_tls.hpp"

namespace chainmail::deliver {

// The relay's one reply type (policy::SmtpReply) and its parser
// (policy/smtp_reply.hpp).
using policy::Extensions;
using policy::parse_ehlo;
using policy::ReplyParser;

// Protocol states, in order; each has one row in the timeout table.
enum class Stage {
    Connect,
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    TlsHandshake,
    Mail,
    Rcpt,
    Data,
    Body,
    Dot,
    Rset,
    Quit
};

struct StageInfo {
    Stage stage;
    std::string_view label;  // "sending end of data", for logs and NDRs
    std::chrono::milliseconds timeout;
};
const StageInfo& stage_info(Stage s);
std::string_view to_string(Stage s);

struct SessionOptions {
    std::string helo_name;  // our EHLO name
    std::string host;       // the MX host name: SNI, DANE base and PKIX name by default
    std::vector<boost::asio::ip::address> addresses;  // tried in this order
    std::uint16_t port = 25;
    // Never (plaintext, STARTTLS never tried), IfOffered (TLS when offered;
    // plaintext if not, or if the handshake fails), Required (TLS established
    // and verified before MAIL, or a TLS failure).
    policy::Starttls starttls = policy::Starttls::IfOffered;
    tls::TlsRequirement requirement;
    std::chrono::milliseconds connect_timeout{30000};
    double timeout_scale = 1.0;  // multiplies every protocol timeout (tests use < 1)
    // Required: a failed verification ends the session (QUIT) before MAIL.
    // False only when the check is a `mode: testing` shadow, judged later.
    bool enforce_verification = true;
    // IfOffered: after a broken handshake, reconnect to the same address
    // in plaintext inside open(). Off: open() reports TlsFailed and the caller
    // retries with policy::Starttls::Never (policy's RetryWithoutTls).
    bool retry_plaintext = false;
};

enum class Failure {
    None,
    Connect,        // no address accepted the connection
    Timeout,        // the stage's timeout ran out
    Lost,           // the peer closed or reset the connection
    Protocol,       // the peer's bytes were not SMTP
    Reply,          // the peer refused (see reply)
    TlsNotOffered,  // Required, but no STARTTLS in the EHLO reply
    TlsRefused,     // Required, STARTTLS answered other than 220
    TlsFailed,      // handshake or verification failed (see SessionFacts::tls)
    Local,          // we refused before sending (size, REQUIRETLS, SMTPUTF8)
};
std::string_view to_string(Failure f);

struct StepResult {
    Failure failure = Failure::None;
    Stage stage = Stage::Connect;
    policy::SmtpReply reply;  // the peer's reply, or one we made for Local (e.g. 552 5.3.4)
    std::string text;         // what happened, in words for the log
    bool ok() const { return failure == Failure::None; }
};

struct SessionFacts {
    StepResult result;
    boost::asio::ip::address address;  // the address that answered
    policy::SmtpReply greeting;
    Extensions extensions;             // from the last EHLO (after STARTTLS when TLS is up)
    std::optional<tls::TlsFacts> tls;  // set whenever a handshake was attempted
    bool tls_up = false;
    bool starttls_refused = false;    // STARTTLS was answered other than 220
    bool plaintext_fallback = false;  // retry_plaintext happened
    // Bytes the peer sent behind its 220 to STARTTLS, thrown away (RFC 3207 §4.2).
    std::size_t discarded_after_starttls = 0;
};

struct Recipient {
    std::string address;      // without <>
    std::uint8_t notify = 0;  // spool::NotifyBits
    std::string orcpt;        // "rfc822;xtext" as received, or empty
};

struct Message {
    std::string sender;  // without <>; empty = null sender
    std::vector<Recipient> recipients;
    spool::Ret ret = spool::Ret::Unspecified;
    std::string envid;  // decoded; xtext-encoded on the wire
    spool::BodyType body = spool::BodyType::SevenBit;
    bool smtputf8 = false;
    bool requiretls = false;
    bool chunking = true;   // BDAT when offered (RFC 3030); false: DATA (the partner's `chunking`)
    std::string_view data;  // CRLF lines, not dot-stuffed; kept alive by the caller
    // Asked right before the final dot (with BDAT: before the one chunk is
    // sent); false: the connection is closed without it, so the next hop
    // discards the transaction (RFC 5321 §3.3: nothing is delivered before
    // the end of mail data is acknowledged).
    std::function<bool()> go_ahead;
};

struct TransactionResult {
    StepResult result;                    // a failure of the whole transaction, if any
    policy::SmtpReply mail;               // code 0: not sent
    std::vector<policy::SmtpReply> rcpt;  // one per recipient, same order; code 0: not sent
    policy::SmtpReply data;               // final reply after the dot (or the DATA refusal)
    bool pipelined = false;               // MAIL, RCPTs and DATA (or BDAT) went in one write
    bool chunked = false;                 // the message went as one BDAT ... LAST (RFC 3030)
    bool dsn_dropped = false;             // DSN parameters withheld: the peer lacks DSN ("relayed")
    bool delivered(std::size_t i) const {
        return result.ok() && rcpt.at(i).positive() && data.positive();
    }
};

// The protocol of one connection, whatever stream it runs on; the stream's
// part (connect, read, write, the TLS wrapping) is BasicConnection<Socket>
// in smtp_client_stream.hpp: the TCP socket in production, an in-memory
// stream in tests.
class Connection {
  public:
    // A connection over TCP that passed every step of SessionOptions, or
    // nullptr and the facts saying where and why it stopped.
    static boost::asio::awaitable<std::pair<std::unique_ptr<Connection>, SessionFacts>> open(
        tls::ClientTls& tls, SessionOptions options);

    virtual ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // One transaction; RSET first when it is not the first on this connection.
    boost::asio::awaitable<TransactionResult> transaction(const Message& message);
    // QUIT (best effort, short timeout), then close.
    boost::asio::awaitable<void> quit();

    bool usable() const { return usable_; }
    const SessionFacts& facts() const { return facts_; }

  protected:
    // Only open() and BasicConnection::open_on() can make the Token.
    struct Token {
        explicit Token() = default;
    };
    struct Watchdog;

    Connection(const boost::asio::any_io_executor& ex, tls::ClientTls& tls, SessionOptions options);

    // Connect (a stream that is not connected yet), greeting, EHLO, STARTTLS.
    boost::asio::awaitable<void> setup(bool try_starttls);
    // What the caller gets from open(): the connection, or nullptr after QUIT.
    static boost::asio::awaitable<std::pair<std::unique_ptr<Connection>, SessionFacts>> finish(
        std::unique_ptr<Connection> c);
    void close();
    void arm(Stage s);
    void disarm();           // the operation ended before its timeout
    bool timed_out() const;  // the last armed timeout ran out
    std::chrono::milliseconds timeout_of(Stage s) const;

    // The stream's part. connect_stream sets facts_.address, or adds to r.text.
    virtual boost::asio::awaitable<bool> connect_stream(StepResult& r) = 0;
    virtual boost::asio::awaitable<boost::system::error_code> write_all(std::string_view bytes) = 0;
    virtual boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some(
        boost::asio::mutable_buffer into) = 0;
    virtual SSL* wrap_tls() = 0;  // from here on, reads and writes go through TLS
    virtual bool tls_wrapped() const = 0;
    virtual boost::asio::awaitable<boost::system::error_code> tls_handshake() = 0;
    virtual boost::asio::awaitable<void> tls_shutdown() = 0;
    virtual void cancel_io() = 0;  // pending reads and writes end with operation_aborted
    virtual void close_stream() = 0;
    virtual bool stream_open() const = 0;

    tls::ClientTls& tls_;
    SessionOptions opts_;
    SessionFacts facts_;
    // Outlives the SSL of the derived class's TLS stream (base members go last).
    std::unique_ptr<tls::ConnectionTls> conn_tls_;
    std::shared_ptr<Watchdog> watch_;

  private:
    boost::asio::awaitable<bool> ehlo(StepResult& r);
    boost::asio::awaitable<bool> starttls(StepResult& r);
    boost::asio::awaitable<policy::SmtpReply> command(std::string_view line, Stage s,
                                                      StepResult& r);
    boost::asio::awaitable<policy::SmtpReply> read_reply(Stage s, StepResult& r);
    boost::asio::awaitable<bool> send(std::string_view bytes, Stage s, StepResult& r);
    boost::asio::awaitable<bool> send_body(const Message& m, StepResult& r);
    // RFC 3030 §2: `head` (commands pipelined before it, or empty), then
    // "BDAT <size> LAST" and the message as it is, not dot-stuffed.
    boost::asio::awaitable<bool> send_chunk(const Message& m, std::string& head, StepResult& r);
    // Asked right before the end of the data leaves (Message::go_ahead).
    bool go_ahead(const Message& m, StepResult& r);
    // RSET before a transaction on a reused connection: reset() sends it and
    // reads the reply; reset_reply() reads the reply of one sent in a group.
    boost::asio::awaitable<bool> reset(StepResult& r);
    boost::asio::awaitable<bool> reset_reply(StepResult& r);
    void io_failed(const boost::system::error_code& ec, Stage s, StepResult& r);

    std::string inbuf_;
    ReplyParser parser_;
    bool usable_ = false;
    int transactions_ = 0;
};

// RFC 5321 §4.5.2: a line starting with "." gets another one; the data ends
// with CRLF.CRLF (a final CRLF is added when the message lacks it).
std::string dot_stuff(std::string_view data);

}  // namespace chainmail::deliver
