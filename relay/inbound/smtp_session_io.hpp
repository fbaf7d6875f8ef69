// smtp_session_io: the I/O half of BasicSession<Socket>: greeting, the command
// loop over a plain or TLS stream, DATA, and the hand-over to the spool.
// Deadlines come from one lazily re-armed timer per session, each from
// session_deadlines.hpp. Template definitions: included only where a session
// type is instantiated (smtp_session_io.cpp for TCP, the tests for their stream).
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "relay/inbound/data_reader.hpp"
#include "relay/inbound/line_reader.hpp"
#include "relay/inbound/received_header.hpp"
#include "relay/inbound/smtp_session.hpp"
#include "relay/metrics/metrics.hpp"
#include "relay/tls/server_tls.hpp"

namespace chainmail::inbound {

namespace asio = boost::asio;

namespace session_io {

constexpr std::size_t kCommandLine = 512;      // RFC 5321 §4.5.3.1.4, CRLF included
constexpr std::size_t kSaslLine = 12288;       // RFC 4954 §4
constexpr std::size_t kIdleBuffer = 1024;      // what an idle session keeps
constexpr std::size_t kDataChunk = 16 * 1024;  // read size while in DATA

}  // namespace session_io

template <class Socket>
BasicSession<Socket>::BasicSession(std::shared_ptr<ServerCore> core, Socket socket,
                                   config::Listener listener)
    : Session(std::move(core), socket.get_executor(), std::move(listener)),
      socket_(std::move(socket)) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    set_client(ep, ec);
}

template <class Socket>
void BasicSession<Socket>::begin_shutdown() {
    stopping_ = true;
    // Waiting for a command, nothing was acknowledged that is not on disk: a
    // client between MAIL and DATA gets 421 and retries later. Reading DATA
    // or committing it runs to its end.
    if (reading_command_) {
        boost::system::error_code ec;
        socket_.cancel(ec);  // the loop answers 421 and ends
    }
}

template <class Socket>
bool BasicSession<Socket>::input_waiting() {
    // Plain TCP only: under TLS a record may be other than application data.
    if (tls_active_) return false;
    boost::system::error_code ec;
    return socket_.available(ec) > 0 && !ec;
}

template <class Socket>
void BasicSession<Socket>::start() {
    auto self = this->shared_from_this();
    asio::co_spawn(
        socket_.get_executor(), [self]() { return self->run(); },
        [self](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("inbound {}: session failed: {}", self->client_ip_, ex.what());
            }
        });
}

template <class Socket>
void BasicSession<Socket>::on_timer() {
    using boost::system::error_code;
    if (closed_) return;
    auto now = Clock::now();
    if (now >= deadline_) {
        error_code ec;
        if (timed_out_) {  // the 421 could not be written either: give up
            socket_.close(ec);
            return;
        }
        timed_out_ = true;
        socket_.cancel(ec);  // the blocked read returns; the loop answers 421 4.4.2
        deadline_ = now + scaled(deadline(SessionState::TimeoutReply, cfg().limits));
    }
    timer_.expires_at(deadline_);
    timer_.async_wait([self = this->shared_from_this()](error_code) { self->on_timer(); });
}

template <class Socket>
template <class Stream>
boost::asio::awaitable<bool> BasicSession<Socket>::flush(Stream& s) {
    using boost::system::error_code;
    if (out_.empty()) co_return true;
    arm(deadline(SessionState::Reply, cfg().limits));
    error_code ec;
    co_await asio::async_write(s, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
    out_.clear();
    if (out_.capacity() > 4096) std::string().swap(out_);
    co_return !ec;
}

template <class Socket>
template <class Stream>
boost::asio::awaitable<bool> BasicSession<Socket>::fill(Stream& s, SessionState state) {
    using boost::system::error_code;
    using namespace session_io;
    const bool in_data = state == SessionState::DataBlock;
    if (!co_await flush(s)) co_return false;
    if (stopping_ && !in_data) {
        reply(421, "4.3.2 " + cfg().hostname + " Service shutting down");
        co_await flush(s);
        co_return false;
    }
    std::size_t avail = 0;
    char* p =
        in_.prepare(in_data ? kDataChunk : 256, in_data ? kDataChunk : kSaslLine + 1024, avail);
    arm(deadline(state, cfg().limits));
    error_code ec;
    reading_command_ = !in_data;
    std::size_t n = co_await s.async_read_some(asio::buffer(p, avail),
                                               asio::redirect_error(asio::use_awaitable, ec));
    reading_command_ = false;
    in_.commit(n);
    if (!ec) co_return true;
    if (timed_out_) {
        // RFC 5321 §4.5.3.2: the server may close after its timeout, with 421.
        reply(421, "4.4.2 " + cfg().hostname + " Error: timeout exceeded");
        co_await flush(s);
    } else if (stopping_ && ec == asio::error::operation_aborted) {
        reply(421, "4.3.2 " + cfg().hostname + " Service shutting down");
        co_await flush(s);
    }
    co_return false;
}

template <class Socket>
template <class Stream>
boost::asio::awaitable<Session::Action> BasicSession<Socket>::command_loop(Stream& s) {
    using boost::system::error_code;
    using namespace session_io;
    for (;;) {
        const std::size_t max = sasl_ == SaslStep::None ? kCommandLine : kSaslLine;
        LineScan scan = scan_line(in_.view(), max);
        switch (scan.status) {
            case LineStatus::NeedMore:
                if (!co_await fill(s, SessionState::Command)) co_return Action::Close;
                continue;
            case LineStatus::TooLong: {
                // Discard through the end of the over-long line, then refuse it.
                for (;;) {
                    std::string_view v = in_.view();
                    std::size_t crlf = v.find("\r\n");
                    if (crlf != std::string_view::npos) {
                        in_.consume(crlf + 2);
                        break;
                    }
                    in_.consume(v.size() > 0 && v.back() == '\r' ? v.size() - 1 : v.size());
                    if (!co_await fill(s, SessionState::Command)) co_return Action::Close;
                }
                sasl_ = SaslStep::None;
                if (error(500, "5.5.2 Error: line too long") == Action::Close) {
                    co_await flush(s);
                    co_return Action::Close;
                }
                continue;
            }
            case LineStatus::BareLf:
            case LineStatus::BareCr:
                // As Postfix with smtpd_forbid_bare_newline = yes: refuse and disconnect.
                reply(550, scan.status == LineStatus::BareLf ? "5.5.2 Error: bare <LF> received"
                                                             : "5.5.2 Error: bare <CR> received");
                co_await flush(s);
                co_return Action::Close;
            case LineStatus::Complete:
                break;
        }
        // What the client sent behind this line before reading our reply: in
        // our buffer here, or still in the kernel's (input_waiting()).
        Action a =
            handle_line(in_.view().substr(0, scan.length - 2), in_.view().substr(scan.length));
        in_.consume(scan.length);
        switch (a) {
            case Action::Continue:
                continue;
            case Action::Data:
                a = co_await read_data(s);
                if (a == Action::Close) {
                    co_await flush(s);
                    co_return Action::Close;
                }
                continue;
            case Action::StartTls:
                // Anything pipelined after STARTTLS came in clear text: it is
                // dropped, never answered inside TLS (CVE-2011-0411, RFC 3207 §5).
                in_.clear();
                if (!co_await flush(s)) co_return Action::Close;
                co_return Action::StartTls;
            case Action::Quit:
            case Action::Close:
                co_await flush(s);
                co_return a;
        }
    }
}

template <class Socket>
template <class Stream>
boost::asio::awaitable<Session::Action> BasicSession<Socket>::read_data(Stream& s) {
    using namespace session_io;
    const auto& limits = cfg().limits;
    DataReader reader(limits.max_message_size, limits.max_line_length);
    std::string message;
    // One allocation for the whole message when the client declared its size.
    if (tx_.declared_size && *tx_.declared_size <= limits.max_message_size)
        message.reserve(static_cast<std::size_t>(*tx_.declared_size) + 1024);
    for (;;) {
        auto r = reader.feed(in_.view(), message);
        in_.consume(r.consumed);
        switch (r.status) {
            case DataStatus::NeedMore:
                if (!co_await fill(s, SessionState::DataBlock)) co_return Action::Close;
                continue;
            case DataStatus::BareLf:
            case DataStatus::BareCr:
                // Never taken for an end of data (SMTP smuggling, CVE-2023-51764):
                // refused at once and the connection closed, as Postfix does with
                // smtpd_forbid_bare_newline = yes; nothing is queued.
                spdlog::warn("inbound {}: bare {} in DATA, disconnecting", client_ip_,
                             r.status == DataStatus::BareLf ? "LF" : "CR");
                tx_.reset();
                reply(550, r.status == DataStatus::BareLf ? "5.5.2 Error: bare <LF> received"
                                                          : "5.5.2 Error: bare <CR> received");
                co_return Action::Close;
            case DataStatus::End:
                break;
        }
        break;
    }
    in_.shrink_to(kIdleBuffer);
    co_return co_await finish_data(std::move(message), reader);
}

template <class Socket>
boost::asio::awaitable<void> BasicSession<Socket>::run() {
    using boost::system::error_code;
    error_code ec;
    if (core_->options.greet_delay.count() > 0) {
        // Pregreet test: a client that talks before the banner is not an SMTP client.
        timer_.expires_after(core_->options.greet_delay);
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (socket_.available(ec) > 0 && !ec) {
            spdlog::info("inbound {}: talked before the greeting, refused", client_ip_);
            std::string msg =
                "554 5.5.1 " + cfg().hostname + " Error: talking before the greeting\r\n";
            co_await asio::async_write(socket_, asio::buffer(msg),
                                       asio::redirect_error(asio::use_awaitable, ec));
            closed_ = true;
            socket_.close(ec);
            co_return;
        }
    }
    // Start the deadline watch; it runs until closed_.
    deadline_ = Clock::now() + deadline(SessionState::Greeting, cfg().limits);
    timer_.expires_at(deadline_);
    timer_.async_wait([self = this->shared_from_this()](error_code) { self->on_timer(); });

    reply(220, cfg().hostname + " ESMTP chainmail");
    Action end = co_await command_loop(socket_);
    if (end == Action::StartTls && state_->tls) {
        asio::ssl::stream<Socket&> tls(socket_, *state_->tls);
        arm(deadline(SessionState::TlsHandshake, cfg().limits));
        co_await tls.async_handshake(asio::ssl::stream_base::server,
                                     asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
            auto n = tls::negotiated(tls.native_handle());
            tls_active_ = true;
            tls_version_ = n.version;
            tls_cipher_ = n.cipher;
            tls_bits_ = n.bits;
            after_starttls();
            spdlog::debug("inbound {}: TLS {} {}", client_ip_, tls_version_, tls_cipher_);
            end = co_await command_loop(tls);
            if (end == Action::Quit) {
                arm(deadline(SessionState::TlsShutdown, cfg().limits));
                co_await tls.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
            }
        } else {
            spdlog::info("inbound {}: TLS handshake failed: {}", client_ip_, ec.message());
        }
    }
    closed_ = true;
    timer_.cancel();
    socket_.shutdown(asio::socket_base::shutdown_both, ec);
    socket_.close(ec);
}

}  // namespace chainmail::inbound
