// The Connection over TCP: open() connects to the addresses in the caller's
// order (each within the connect timeout, connect::tcp_connect) and retries in plaintext after a
// broken handshake when the options allow it.
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/connect/tcp_connect.hpp"
#include "relay/deliver/smtp_client_stream.hpp"

namespace chainmail::deliver {

namespace asio = boost::asio;
using boost::system::error_code;
using TcpConnection = BasicConnection<asio::ip::tcp::socket>;

template <>
asio::awaitable<bool> TcpConnection::connect_stream(StepResult& r) {
    const std::chrono::milliseconds connect_timeout = timeout_of(Stage::Connect);
    connect::TcpConnected connected =
        co_await connect::tcp_connect(socket_, opts_.addresses, opts_.port, connect_timeout);
    if (!connected.ok) {
        if (!connected.failures.empty())
            r.text += (r.text.empty() ? "" : "; ") + connected.failures;
        co_return false;
    }
    facts_.address = connected.address;
    co_return true;
}

template class BasicConnection<asio::ip::tcp::socket>;

asio::awaitable<std::pair<std::unique_ptr<Connection>, SessionFacts>> Connection::open(
    tls::ClientTls& tls, SessionOptions options) {
    auto ex = co_await asio::this_coro::executor;
    std::unique_ptr<Connection> c = std::make_unique<TcpConnection>(
        Token{}, asio::ip::tcp::socket(ex), tls, std::move(options));
    co_await c->setup(true);
    const bool handshake_broke =
        c->facts_.result.failure == Failure::TlsFailed && !c->facts_.tls_up;
    if (handshake_broke && c->opts_.starttls == policy::Starttls::IfOffered &&
        c->opts_.retry_plaintext) {
        // RFC 7435 (opportunistic security): a broken handshake falls back to
        // plaintext on a fresh connection to the same address.
        auto tls_facts = c->facts_.tls;
        auto first = c->facts_.address;
        SessionOptions again = c->opts_;
        again.addresses = {first};
        c = std::make_unique<TcpConnection>(Token{}, asio::ip::tcp::socket(ex), tls,
                                            std::move(again));
        co_await c->setup(false);
        c->facts_.tls = tls_facts;
        c->facts_.plaintext_fallback = true;
    }
    auto opened = co_await finish(std::move(c));
    co_return opened;
}

}  // namespace chainmail::deliver
