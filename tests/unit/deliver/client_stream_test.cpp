// The client connection on an in-memory stream, against a scripted next hop
// that misbehaves on purpose: replies cut across reads, bytes injected
// behind the 220 to STARTTLS, a close in the middle of DATA, silence.
#include <catch2/catch.hpp>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <optional>

#include "deliver_fixture.hpp"
#include "relay/deliver/smtp_client_stream.hpp"
#include "tests/unit/mem_stream.hpp"

using namespace chainmail;
using namespace fixture;
using boost::system::error_code;
using deliver::Failure;
using deliver::Stage;

namespace {

// The next hop's end of the stream: what it read, and what it sends.
class NextHop : public memstream::Peer {
  public:
    using Peer::Peer;

    // The next line without its CRLF; "<closed>" when the client hung up.
    asio::awaitable<std::string> line() {
        for (;;) {
            const auto eol = buf_.find("\r\n");
            if (eol != std::string::npos) {
                std::string l = buf_.substr(0, eol);
                buf_.erase(0, eol + 2);
                co_return l;
            }
            const bool got = co_await more();
            if (!got) co_return "<closed>";
        }
    }

    // The message text through the final CRLF.CRLF, as sent (dot-stuffed).
    asio::awaitable<std::string> data() {
        for (;;) {
            const auto end = buf_.find("\r\n.\r\n");
            if (end != std::string::npos) {
                std::string d = buf_.substr(0, end + 5);
                buf_.erase(0, end + 5);
                co_return d;
            }
            const bool got = co_await more();
            if (!got) co_return "<closed>";
        }
    }

    // The server side of the TLS handshake; bytes already read stay read.
    asio::awaitable<bool> start_tls(asio::ssl::context& ctx) {
        return handshake(ctx, asio::ssl::stream_base::server);
    }

    // Greeting and EHLO: the reply offers `keywords` (one per line).
    asio::awaitable<void> greet(std::string_view keywords) {
        co_await send("220 mx.example.test ESMTP\r\n");
        const std::string ehlo = co_await line();
        lines.push_back(ehlo);
        const std::string reply = "250-mx.example.test\r\n" + std::string(keywords);
        co_await send(reply);
    }

    std::vector<std::string> lines;  // what greet() read
};

using Script = std::function<asio::awaitable<void>(NextHop&)>;

deliver::SessionOptions plain_options() {
    deliver::SessionOptions o = options(25);
    o.starttls = policy::Starttls::Never;
    return o;
}

// open_on(), one transaction per message, quit(), against `script`; the
// client reads at most `read_size` bytes at a time when it is set.
Delivery run(const deliver::SessionOptions& o, const Script& script,
             const std::vector<deliver::Message>& messages, std::size_t read_size = 0) {
    asio::io_context io;
    auto streams = memstream::Stream::pair(io.get_executor());
    if (read_size) streams.first.read_size(read_size);
    NextHop hop(std::move(streams.second));
    std::exception_ptr failed;
    asio::co_spawn(io, script(hop), [&](std::exception_ptr e) {
        failed = e;
        hop.close();
    });
    Delivery d;
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto [conn, facts] = co_await deliver::BasicConnection<memstream::Stream>::open_on(
                std::move(streams.first), shared_ctx(), o);
            d.facts = facts;
            if (conn) {
                for (const auto& m : messages) d.tx.push_back(co_await conn->transaction(m));
                co_await conn->quit();
            }
            done = true;
        },
        [&](std::exception_ptr e) {
            if (e) failed = e;
        });
    io.run_for(std::chrono::seconds(10));
    if (failed) std::rethrow_exception(failed);
    if (!done) throw std::runtime_error("the client did not finish");
    return d;
}

// The rest of a transaction after EHLO, one command at a time; the
// message text is kept in `text`.
asio::awaitable<void> accept_one(NextHop& h, std::string& text) {
    for (;;) {
        const std::string l = co_await h.line();
        if (l.rfind("MAIL", 0) == 0 || l.rfind("RCPT", 0) == 0) {
            co_await h.send("250 2.1.0 Ok\r\n");
        } else if (l == "DATA") {
            co_await h.send("354 go ahead\r\n");
            text = co_await h.data();
            co_await h.send("250 2.0.0 queued\r\n");
        } else if (l == "QUIT") {
            co_await h.send("221 2.0.0 Bye\r\n");
            co_return;
        } else {
            co_return;  // "<closed>" or something unexpected: hang up
        }
    }
}

}  // namespace

TEST_CASE("replies cut across reads are read whole", "[stream]") {
    std::string text;
    const Script script = [&](NextHop& h) -> asio::awaitable<void> {
        co_await h.send("22");
        co_await h.send("0 mx.exa");
        co_await h.send("mple.test ESMTP\r");
        co_await h.send("\n");
        co_await h.line();
        co_await h.send("250-mx.example.test\r\n250-8BIT");
        co_await h.send("MIME\r\n250 SIZE 1000");
        co_await h.send("00\r\n");
        co_await accept_one(h, text);
    };
    std::size_t read_size = 0;
    SECTION("as the next hop wrote them") {
        read_size = 0;
    }
    SECTION("one byte per read") {
        read_size = 1;
    }
    SECTION("five bytes per read") {
        read_size = 5;
    }
    const auto d = run(plain_options(), script, {message(kData)}, read_size);
    REQUIRE(d.facts.result.ok());
    CHECK(d.facts.greeting.code == 220);
    CHECK(d.facts.extensions.eightbitmime);
    CHECK(d.facts.extensions.size_limit == 100000);
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].delivered(0));
    // RFC 5321 §4.5.2: the line that starts with a dot got another one.
    CHECK(text == "Subject: test\r\n\r\n..a line with a dot\r\nbody\r\n.\r\n");
}

TEST_CASE("bytes behind the 220 to STARTTLS are discarded; TLS and EHLO start afresh",
          "[stream][starttls]") {
    // A man in the middle slips a fake EHLO reply in behind the 220 (RFC 3207
    // §4.2; Postfix and Exim discard it too): it must never be read as the
    // reply to the EHLO inside TLS.
    const std::string injected = "250-evil.example\r\n250 REQUIRETLS\r\n";
    asio::ssl::context server_ctx(asio::ssl::context::tls_server);
    server_ctx.use_certificate_chain_file(lab::pki().path("mx.chain.pem"));
    server_ctx.use_private_key_file(lab::pki().path("mx.key"), asio::ssl::context::pem);
    std::vector<std::string> ehlo_in_tls;
    std::string text;
    const Script script = [&](NextHop& h) -> asio::awaitable<void> {
        co_await h.greet("250 STARTTLS\r\n");
        const std::string command = co_await h.line();
        if (command != "STARTTLS") co_return;
        const std::string ready = "220 2.0.0 Ready\r\n" + injected;
        co_await h.send(ready);
        const bool up = co_await h.start_tls(server_ctx);
        if (!up) co_return;
        const std::string ehlo = co_await h.line();
        ehlo_in_tls.push_back(ehlo);
        co_await h.send("250-mx.example.test\r\n250 8BITMIME\r\n");
        co_await accept_one(h, text);
    };
    auto o = options(25);
    const auto starttls = GENERATE(policy::Starttls::Required, policy::Starttls::IfOffered);
    o.starttls = starttls;
    const auto d = run(o, script, {message(kData)});
    REQUIRE(d.facts.result.ok());
    CHECK(d.facts.discarded_after_starttls == injected.size());
    CHECK(d.facts.tls_up);
    CHECK(ehlo_in_tls == std::vector<std::string>{"EHLO relay.test"});
    CHECK_FALSE(d.facts.extensions.requiretls);
    CHECK(d.facts.extensions.eightbitmime);
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].delivered(0));
    CHECK(text == "Subject: test\r\n\r\n..a line with a dot\r\nbody\r\n.\r\n");
}

TEST_CASE("a next hop that closes in the middle of DATA: connection lost, not delivered",
          "[stream][data]") {
    SECTION("right after 354: the message text cannot be written") {
        const Script script = [](NextHop& h) -> asio::awaitable<void> {
            co_await h.greet("250 8BITMIME\r\n");
            for (int i = 0; i < 2; ++i) {
                co_await h.line();
                co_await h.send("250 Ok\r\n");
            }
            co_await h.line();
            co_await h.send("354 go ahead\r\n");
            h.close();
        };
        const auto d = run(plain_options(), script, {message(kData)});
        REQUIRE(d.tx.size() == 1);
        CHECK(d.tx[0].result.failure == Failure::Lost);
        CHECK((d.tx[0].result.stage == Stage::Body || d.tx[0].result.stage == Stage::Dot));
        CHECK_FALSE(d.tx[0].delivered(0));
    }
    SECTION("after the final dot, before its reply") {
        const Script script = [](NextHop& h) -> asio::awaitable<void> {
            co_await h.greet("250 PIPELINING\r\n");
            co_await h.line();  // MAIL, RCPT and DATA in one group
            co_await h.line();
            co_await h.line();
            co_await h.send("250 Ok\r\n250 Ok\r\n354 go ahead\r\n");
            co_await h.data();
            h.close();
        };
        const auto d = run(plain_options(), script, {message(kData)});
        REQUIRE(d.tx.size() == 1);
        CHECK(d.tx[0].pipelined);
        CHECK(d.tx[0].result.failure == Failure::Lost);
        CHECK(d.tx[0].result.stage == Stage::Dot);
        CHECK_FALSE(d.tx[0].delivered(0));
    }
}

TEST_CASE("a next hop that falls silent: the stage's deadline fires", "[stream][timeout]") {
    auto o = plain_options();
    o.timeout_scale = 0.0002;  // 60 ms for the greeting, 120 ms for the final dot
    const auto started = std::chrono::steady_clock::now();
    SECTION("before the greeting") {
        const Script silent = [](NextHop& h) -> asio::awaitable<void> {
            co_await h.line();  // waits for a client that waits too
        };
        const auto d = run(o, silent, {message(kData)});
        CHECK(d.facts.result.failure == Failure::Timeout);
        CHECK(d.facts.result.stage == Stage::Greeting);
        CHECK(d.tx.empty());
    }
    SECTION("after the final dot") {
        const Script script = [](NextHop& h) -> asio::awaitable<void> {
            co_await h.greet("250 8BITMIME\r\n");
            for (int i = 0; i < 2; ++i) {
                co_await h.line();
                co_await h.send("250 Ok\r\n");
            }
            co_await h.line();
            co_await h.send("354 go ahead\r\n");
            co_await h.data();
            co_await h.line();  // no reply: waits until the client gives up
        };
        const auto d = run(o, script, {message(kData)});
        REQUIRE(d.tx.size() == 1);
        CHECK(d.tx[0].result.failure == Failure::Timeout);
        CHECK(d.tx[0].result.stage == Stage::Dot);
        CHECK(d.tx[0].result.text == "timeout while sending end of data");
        CHECK_FALSE(d.tx[0].delivered(0));
    }
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}

TEST_CASE("a reply that is not SMTP is a protocol failure", "[stream]") {
    const Script script = [](NextHop& h) -> asio::awaitable<void> {
        co_await h.send("HTTP/1.1 400 Bad Request\r\n\r\n");
        co_await h.line();
    };
    const auto d = run(plain_options(), script, {message(kData)});
    CHECK(d.facts.result.failure == Failure::Protocol);
    CHECK(d.facts.result.stage == Stage::Greeting);
}
