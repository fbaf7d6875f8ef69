// session_fixture: one inbound session on an in-memory stream, a spool in
// memory that can refuse, and a client script driving the other end. A
// scenario runs to its end in milliseconds on one io_context, no process.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <system_error>
#include <vector>

#include "relay/inbound/smtp_session_io.hpp"
#include "tests/unit/mem_stream.hpp"

namespace session_fixture {

namespace asio = boost::asio;
using namespace chainmail;
using namespace std::chrono_literals;
using boost::system::error_code;

struct Committed {
    spool::Envelope env;
    std::string message;
};

// Keeps what is committed; `fail` makes commit() refuse (a full disk).
class MemSpool final : public spool::Spool {
  public:
    std::vector<Committed> committed;
    std::error_code fail;

    asio::awaitable<std::error_code> commit(spool::Envelope& env, std::string message) override {
        if (fail) co_return fail;
        committed.push_back({env, std::move(message)});
        co_return std::error_code{};
    }
    asio::awaitable<std::error_code> update(const spool::QueueId&,
                                            std::vector<spool::RecipientUpdate>) override {
        co_return std::make_error_code(std::errc::operation_not_supported);
    }
    asio::awaitable<std::error_code> commit_with_update(
        std::vector<spool::NewMessage>&, const spool::QueueId&,
        std::vector<spool::RecipientUpdate>) override {
        co_return std::make_error_code(std::errc::operation_not_supported);
    }
    asio::awaitable<std::error_code> set_held(const spool::QueueId&, bool) override {
        co_return std::make_error_code(std::errc::operation_not_supported);
    }
    asio::awaitable<std::error_code> remove(const spool::QueueId&) override {
        co_return std::make_error_code(std::errc::operation_not_supported);
    }
    std::vector<spool::Envelope> live() const override { return {}; }
    std::optional<spool::Envelope> find(const spool::QueueId&) const override {
        return std::nullopt;
    }
    std::error_code read_message(const spool::QueueId&, std::string&) const override {
        return std::make_error_code(std::errc::operation_not_supported);
    }
    spool::SpoolStats stats() const override { return {}; }
};

// The client's end: whole writes and whole replies.
class Client : public memstream::Peer {
  public:
    using Peer::Peer;

    // The client side of the TLS handshake; from here on, reads and writes go
    // through TLS. Bytes already read (and not yet taken) are dropped.
    asio::awaitable<bool> start_tls(asio::ssl::context& ctx) {
        return handshake(ctx, asio::ssl::stream_base::client);
    }

    // The next complete reply, all its lines ("250-a\r\n250 b\r\n"); what
    // came before the stream ended when it ends first ("" when nothing).
    asio::awaitable<std::string> reply() {
        for (;;) {
            std::size_t pos = 0;
            for (;;) {
                const auto eol = buf_.find("\r\n", pos);
                if (eol == std::string::npos) break;
                if (eol - pos < 4 || buf_[pos + 3] == ' ') {
                    std::string r = buf_.substr(0, eol + 2);
                    buf_.erase(0, eol + 2);
                    co_return r;
                }
                pos = eol + 2;
            }
            const bool got = co_await more();
            if (!got) {
                std::string r = std::move(buf_);
                buf_.clear();
                co_return r;
            }
        }
    }

    // The next reply is `want`, or one that starts with `want` when it ends
    // with "...". (Catch's CHECK holds no co_await: g++ 12 and temporaries.)
    asio::awaitable<void> expect(std::string_view expected,
                                 std::source_location at = std::source_location::current()) {
        std::string want(expected);
        const std::string got = co_await reply();
        INFO("expected at line " << at.line());
        if (want.size() > 3 && want.substr(want.size() - 3) == "...") {
            want.resize(want.size() - 3);
            CHECK(got.substr(0, want.size()) == want);
        } else {
            CHECK(got == want);
        }
    }

    // The session closes the stream with nothing more to read.
    asio::awaitable<void> expect_closed(std::source_location at = std::source_location::current()) {
        const bool closed_clean = co_await closed();
        INFO("expected at line " << at.line());
        CHECK(closed_clean);
    }

    // The opening every scenario shares: the 220 banner, EHLO, its reply.
    asio::awaitable<void> hello() {
        co_await reply();
        co_await send("EHLO client.test\r\n");
        co_await reply();
    }

    // MAIL FROM alice and RCPT TO bob, one at a time, replies read.
    asio::awaitable<void> envelope() {
        co_await send("MAIL FROM:<alice@client.test>\r\n");
        co_await reply();
        co_await send("RCPT TO:<bob@example.test>\r\n");
        co_await reply();
    }
    // True when the session closed the stream with nothing more to read.
    asio::awaitable<bool> closed() {
        for (;;) {
            const bool got = co_await more();
            if (!got) break;
        }
        co_return buf_.empty();
    }
};

// One session, its configuration, and the spool behind it.
struct Scenario {
    asio::io_context io;
    MemSpool spool;
    log::DeliveryLog delivery_log;  // disabled
    config::Config cfg;
    config::Listener listener;
    inbound::ServerOptions options;
    std::shared_ptr<asio::ssl::context> tls;  // null: no STARTTLS offered
    std::shared_ptr<inbound::ServerCore> core;

    Scenario() {
        cfg.hostname = "mx.relay.test";
        cfg.relay_from.networks = {*config::parse_cidr("127.0.0.0/8")};
        options.greet_delay = 0ms;
    }

    // Runs the session against `script` until both end (bounded: 10 s); the
    // client hangs up when the script ends.
    // The session may first read only `read_size` bytes at a time.
    void run(const std::function<asio::awaitable<void>(Client&)>& script,
             std::size_t read_size = 0) {
        core = std::make_shared<inbound::ServerCore>(spool, delivery_log);
        auto state = std::make_shared<inbound::ServerState>();
        state->config = std::make_shared<const config::Config>(cfg);
        state->tls = tls;
        core->state = state;
        core->options = options;
        auto [server_end, client_end] = memstream::Stream::pair(io.get_executor());
        if (read_size) server_end.read_size(read_size);
        std::make_shared<inbound::BasicSession<memstream::Stream>>(core, std::move(server_end),
                                                                   listener)
            ->start();
        Client client(std::move(client_end));
        std::exception_ptr failed;
        bool done = false;
        asio::co_spawn(io, script(client), [&](std::exception_ptr e) {
            failed = e;
            done = true;
            client.close();  // a script that ends without QUIT hangs up
        });
        io.run_for(10s);
        if (failed) std::rethrow_exception(failed);
        if (!done) throw std::runtime_error("the client script did not finish");
    }

    bool session_ended() const { return core->sessions.empty(); }
};

constexpr std::string_view kEhloReply =
    "250-mx.relay.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
    "250-DSN\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n";

}  // namespace session_fixture
