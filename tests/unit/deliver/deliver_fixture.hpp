// deliver_fixture: the happy path of one delivery (a peer with STARTTLS and
// the test PKI, the client requiring TLS), from which each test changes one thing.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lab.hpp"
#include "relay/deliver/smtp_client.hpp"

namespace fixture {

namespace asio = boost::asio;
using namespace chainmail;

inline std::vector<std::string> peer_with(const std::string& cert_chain, const std::string& key) {
    return {"--cert", lab::pki().path(cert_chain), "--key", lab::pki().path(key)};
}

inline deliver::SessionOptions options(std::uint16_t port) {
    deliver::SessionOptions o;
    o.helo_name = "relay.test";
    o.host = "mx.example.test";
    o.addresses = {asio::ip::make_address("127.0.0.1")};
    o.port = port;
    o.starttls = policy::Starttls::Required;
    o.requirement.check.auth = policy::AuthMethod::None;
    o.connect_timeout = std::chrono::seconds(5);
    o.timeout_scale = 0.05;  // 15 s for the greeting, 30 s for the final dot
    return o;
}

// A peer that offers no STARTTLS, and the client not asking for it.
inline deliver::SessionOptions plain_options(std::uint16_t port) {
    deliver::SessionOptions o = options(port);
    o.starttls = policy::Starttls::Never;
    return o;
}

// The peer's arguments, with --no-pipelining when `pipelining` is false.
inline std::vector<std::string> peer_args(std::vector<std::string> args, bool pipelining) {
    if (!pipelining) args.push_back("--no-pipelining");
    return args;
}

inline deliver::Message message(std::string_view data) {
    deliver::Message m;
    m.sender = "alice@relay.test";
    m.recipients = {{"bob@example.test", 0, {}}};
    m.data = data;
    return m;
}

constexpr std::string_view kData = "Subject: test\r\n\r\n.a line with a dot\r\nbody\r\n";

struct Delivery {
    deliver::SessionFacts facts;
    std::vector<deliver::TransactionResult> tx;
};

// open(), then one transaction per message on the same connection, then quit().
inline Delivery deliver_all(tls::ClientTls& ctx, const deliver::SessionOptions& o,
                            const std::vector<deliver::Message>& messages) {
    asio::io_context io;
    return lab::run(io, [&]() -> asio::awaitable<Delivery> {
        auto [conn, facts] = co_await deliver::Connection::open(ctx, o);
        Delivery d{facts, {}};
        if (conn) {
            for (const auto& m : messages) d.tx.push_back(co_await conn->transaction(m));
            co_await conn->quit();
        }
        co_return d;
    }());
}

inline Delivery deliver_one(tls::ClientTls& ctx, const deliver::SessionOptions& o) {
    return deliver_all(ctx, o, {message(kData)});
}

inline tls::ClientTls& shared_ctx() {
    static tls::ClientTls ctx(lab::pki().path("ca.crt"));
    return ctx;
}

}  // namespace fixture
