#include "relay/deliver/smtp_client.hpp"

#include <spdlog/spdlog.h>
#include <array>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace chainmail::deliver {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMaxReplyLine = 4096;

// RFC 5321 §4.5.3.2; EHLO/HELO/STARTTLS/handshake/RSET/QUIT follow Postfix.
const std::array<StageInfo, 13> kStages{{
    {Stage::Connect, "connecting", 30s},
    {Stage::Greeting, "waiting for the greeting", 5min},  // §4.5.3.2.1
    {Stage::Ehlo, "sending EHLO", 5min},
    {Stage::Helo, "sending HELO", 5min},
    {Stage::StartTls, "sending STARTTLS", 5min},
    {Stage::TlsHandshake, "negotiating TLS", 5min},
    {Stage::Mail, "sending MAIL FROM", 5min},    // §4.5.3.2.2
    {Stage::Rcpt, "sending RCPT TO", 5min},      // §4.5.3.2.3
    {Stage::Data, "sending DATA", 2min},         // §4.5.3.2.4
    {Stage::Body, "sending the message", 3min},  // §4.5.3.2.5, per block
    {Stage::Dot, "sending end of data", 10min},  // §4.5.3.2.6
    {Stage::Rset, "sending RSET", 20s},
    {Stage::Quit, "sending QUIT", 10s},
}};

}  // namespace

const StageInfo& stage_info(Stage s) {
    return kStages.at(static_cast<std::size_t>(s));
}
std::string_view to_string(Stage s) {
    return stage_info(s).label;
}

std::string_view to_string(Failure f) {
    switch (f) {
        case Failure::None:
            return "none";
        case Failure::Connect:
            return "connection failed";
        case Failure::Timeout:
            return "timeout";
        case Failure::Lost:
            return "connection lost";
        case Failure::Protocol:
            return "protocol error";
        case Failure::Reply:
            return "refused";
        case Failure::TlsNotOffered:
            return "STARTTLS not offered";
        case Failure::TlsRefused:
            return "STARTTLS refused";
        case Failure::TlsFailed:
            return "TLS failed";
        case Failure::Local:
            return "not sent";
    }
    return "unknown";
}

// Cancels the stream's I/O when a stage's timeout runs out. The generation
// number keeps a timer that already fired from cancelling the next operation.
struct Connection::Watchdog {
    Watchdog(const asio::any_io_executor& ex, Connection& c) : timer(ex), conn(&c) {}
    asio::steady_timer timer;
    Connection* conn;
    std::uint64_t generation = 0;
    bool fired = false;
};

Connection::Connection(const asio::any_io_executor& ex, tls::ClientTls& tls, SessionOptions options)
    : tls_(tls), opts_(std::move(options)) {
    watch_ = std::make_shared<Watchdog>(ex, *this);
}

// The derived class closes its stream (close()) in its own destructor.
Connection::~Connection() = default;

std::chrono::milliseconds Connection::timeout_of(Stage s) const {
    const auto base = s == Stage::Connect ? opts_.connect_timeout : stage_info(s).timeout;
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(base.count()) * opts_.timeout_scale));
}

void Connection::arm(Stage s) {
    Watchdog& w = *watch_;
    w.fired = false;
    const std::uint64_t gen = ++w.generation;
    w.timer.expires_after(timeout_of(s));
    w.timer.async_wait([weak = std::weak_ptr<Watchdog>(watch_), gen](error_code ec) {
        auto p = weak.lock();
        if (ec || !p || p->generation != gen) return;
        p->fired = true;
        p->conn->cancel_io();
    });
}

void Connection::disarm() {
    ++watch_->generation;
    watch_->timer.cancel();
}

bool Connection::timed_out() const {
    return watch_->fired;
}

void Connection::close() {
    usable_ = false;
    ++watch_->generation;
    watch_->timer.cancel();
    close_stream();
}

void Connection::io_failed(const error_code& ec, Stage s, StepResult& r) {
    r.stage = s;
    if (watch_->fired) {
        r.failure = Failure::Timeout;
        r.text = "timeout while " + std::string(to_string(s));
    } else {
        r.failure = Failure::Lost;
        r.text = "connection lost while " + std::string(to_string(s)) + ": " + ec.message();
    }
    close();
}

asio::awaitable<bool> Connection::send(std::string_view bytes, Stage s, StepResult& r) {
    arm(s);
    const error_code ec = co_await write_all(bytes);
    ++watch_->generation;
    watch_->timer.cancel();
    if (ec) {
        io_failed(ec, s, r);
        co_return false;
    }
    co_return true;
}

asio::awaitable<policy::SmtpReply> Connection::read_reply(Stage s, StepResult& r) {
    arm(s);
    std::array<char, 4096> chunk;
    for (;;) {
        const auto eol = inbuf_.find('\n');
        if (eol != std::string::npos) {
            std::string_view line(inbuf_.data(), eol);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            const auto status = parser_.feed(line);
            inbuf_.erase(0, eol + 1);
            if (status == ReplyParser::Status::Complete) break;
            if (status == ReplyParser::Status::Malformed) {
                parser_.take();
                r.failure = Failure::Protocol;
                r.stage = s;
                r.text = "malformed reply while " + std::string(to_string(s));
                close();
                co_return policy::SmtpReply{};
            }
            continue;
        }
        if (inbuf_.size() > kMaxReplyLine) {
            r.failure = Failure::Protocol;
            r.stage = s;
            r.text = "reply line too long while " + std::string(to_string(s));
            close();
            co_return policy::SmtpReply{};
        }
        const auto [ec, n] = co_await read_some(asio::buffer(chunk));
        if (ec) {
            parser_.take();
            io_failed(ec, s, r);
            co_return policy::SmtpReply{};
        }
        inbuf_.append(chunk.data(), n);
    }
    ++watch_->generation;
    watch_->timer.cancel();
    co_return parser_.take();
}

asio::awaitable<policy::SmtpReply> Connection::command(std::string_view line, Stage s,
                                                       StepResult& r) {
    std::string out(line);
    out += "\r\n";
    if (!co_await send(out, s, r)) co_return policy::SmtpReply{};
    co_return co_await read_reply(s, r);
}

asio::awaitable<bool> Connection::ehlo(StepResult& r) {
    policy::SmtpReply reply = co_await command("EHLO " + opts_.helo_name, Stage::Ehlo, r);
    if (!r.ok()) co_return false;
    if (reply.positive()) {
        facts_.extensions = parse_ehlo(reply);
        co_return true;
    }
    // HELO only where plaintext is allowed: HELO cannot lead to STARTTLS.
    if (reply.permanent() && opts_.starttls != policy::Starttls::Required && !tls_wrapped()) {
        policy::SmtpReply helo = co_await command("HELO " + opts_.helo_name, Stage::Helo, r);
        if (!r.ok()) co_return false;
        if (helo.positive()) {
            facts_.extensions = Extensions{};
            co_return true;
        }
        reply = std::move(helo);
    }
    r.failure = opts_.starttls == policy::Starttls::Required && !tls_wrapped()
                    ? Failure::TlsNotOffered
                    : Failure::Reply;
    r.stage = Stage::Ehlo;
    r.reply = std::move(reply);
    r.text = "EHLO refused: " + r.reply.str();
    co_return false;
}

// STARTTLS, handshake and verification. False with r set when the session
// cannot go on; true also when Opportunistic continues in plaintext.
asio::awaitable<bool> Connection::starttls(StepResult& r) {
    const bool required = opts_.starttls == policy::Starttls::Required;
    if (!facts_.extensions.starttls) {
        if (!required) co_return true;
        r = StepResult{Failure::TlsNotOffered, Stage::Ehlo, {}, "STARTTLS not offered"};
        co_return false;
    }
    policy::SmtpReply reply = co_await command("STARTTLS", Stage::StartTls, r);
    if (!r.ok()) co_return false;
    if (reply.code != 220) {
        facts_.starttls_refused = true;
        if (!required) co_return true;
        r = StepResult{Failure::TlsRefused, Stage::StartTls, reply,
                       "STARTTLS refused: " + reply.str()};
        co_return false;
    }
    // RFC 3207 §4.2: nothing learned in plaintext survives into TLS. Bytes
    // that came behind the 220 (a man in the middle injecting replies, the
    // mirror of CVE-2011-0411) are thrown away, as Postfix and Exim do; the
    // handshake and a fresh EHLO decide everything from here on.
    if (!inbuf_.empty()) {
        facts_.discarded_after_starttls = inbuf_.size();
        spdlog::warn("{}[{}]: discarded {} bytes sent after the 220 reply to STARTTLS", opts_.host,
                     facts_.address.to_string(), inbuf_.size());
        inbuf_.clear();
    }
    const std::string destination =
        opts_.host + "|" + facts_.address.to_string() + ":" + std::to_string(opts_.port);
    SSL* ssl = wrap_tls();
    conn_tls_ = tls_.prepare(ssl, opts_.requirement, opts_.host, destination);
    if (!conn_tls_) {
        r = StepResult{
            Failure::TlsFailed, Stage::TlsHandshake, {}, "cannot set up TLS (DANE base)"};
        close();
        co_return false;
    }
    arm(Stage::TlsHandshake);
    const error_code ec = co_await tls_handshake();
    ++watch_->generation;
    watch_->timer.cancel();
    if (ec) {
        const unsigned long err = ec.category() == asio::error::get_ssl_category()
                                      ? static_cast<unsigned long>(ec.value())
                                      : 0;
        facts_.tls = tls::handshake_failure(
            *conn_tls_, err, watch_->fired ? "timeout during the TLS handshake" : ec.message());
        r = StepResult{Failure::TlsFailed,
                       Stage::TlsHandshake,
                       {},
                       "TLS handshake failed: " + facts_.tls->detail};
        close();
        co_return false;
    }
    facts_.tls = tls::evaluate(*conn_tls_);
    facts_.tls_up = true;
    if (facts_.tls->result != tls::VerifyResult::Ok && required && opts_.enforce_verification) {
        // The caller sends QUIT over TLS and closes; MAIL is never sent.
        r = StepResult{Failure::TlsFailed,
                       Stage::TlsHandshake,
                       {},
                       std::string(tls::to_string(facts_.tls->result)) + ": " + facts_.tls->detail};
        co_return false;
    }
    // RFC 3207 §4.2: the client MUST discard what it knew and send EHLO again.
    facts_.extensions = Extensions{};
    co_return co_await ehlo(r);
}

asio::awaitable<void> Connection::setup(bool try_starttls) {
    StepResult& r = facts_.result;
    const bool connected = co_await connect_stream(r);
    if (!connected) {
        r.failure = Failure::Connect;
        r.stage = Stage::Connect;
        if (r.text.empty()) r.text = "no address to connect to";
        co_return;
    }
    r = StepResult{};
    facts_.greeting = co_await read_reply(Stage::Greeting, r);
    if (!r.ok()) co_return;
    if (!facts_.greeting.positive()) {
        r = StepResult{Failure::Reply, Stage::Greeting, facts_.greeting,
                       "greeting refused: " + facts_.greeting.str()};
        co_return;
    }
    if (!co_await ehlo(r)) co_return;
    if (try_starttls && opts_.starttls != policy::Starttls::Never) {
        if (!co_await starttls(r)) co_return;
    }
    usable_ = r.ok();
}

asio::awaitable<void> Connection::quit() {
    if (stream_open()) {
        StepResult r;
        co_await command("QUIT", Stage::Quit, r);
        if (r.ok() && tls_wrapped()) {
            // close_notify: OpenSSL resumes only sessions that ended cleanly.
            arm(Stage::Quit);
            co_await tls_shutdown();
        }
    }
    close();
}

asio::awaitable<std::pair<std::unique_ptr<Connection>, SessionFacts>> Connection::finish(
    std::unique_ptr<Connection> c) {
    if (!c->facts_.result.ok()) {
        SessionFacts facts = c->facts_;
        if (c->stream_open()) co_await c->quit();
        co_return std::make_pair(nullptr, std::move(facts));
    }
    SessionFacts facts = c->facts_;
    co_return std::make_pair(std::move(c), std::move(facts));
}

}  // namespace chainmail::deliver
