// smtp_client_stream: the stream's part of a Connection, over `Socket` (the
// TCP socket, or an in-memory stream in tests) and, after STARTTLS, over an
// ssl::stream<Socket&>. Only I/O: every protocol decision is in Connection.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>

#include "relay/deliver/smtp_client.hpp"

namespace chainmail::deliver {

// `Socket` offers what a TCP socket does: async reads and writes,
// get_executor, cancel, close, is_open, remote_endpoint.
template <class Socket>
class BasicConnection final : public Connection {
  public:
    BasicConnection(Token, Socket socket, tls::ClientTls& tls, SessionOptions options)
        : Connection(socket.get_executor(), tls, std::move(options)), socket_(std::move(socket)) {}
    ~BasicConnection() override { close(); }

    // Over a stream the caller has connected: as Connection::open from the
    // greeting on (no plaintext retry: that needs a fresh connection).
    static boost::asio::awaitable<std::pair<std::unique_ptr<Connection>, SessionFacts>> open_on(
        Socket socket, tls::ClientTls& tls, SessionOptions options) {
        auto d =
            std::make_unique<BasicConnection>(Token{}, std::move(socket), tls, std::move(options));
        co_await d->setup(true);
        std::unique_ptr<Connection> c = std::move(d);
        auto opened = co_await finish(std::move(c));
        co_return opened;
    }

  private:
    // A stream given connected: the address is where it leads. The TCP
    // socket connects here (smtp_client_tcp.cpp).
    boost::asio::awaitable<bool> connect_stream(StepResult& r) override {
        boost::system::error_code ec;
        facts_.address = socket_.remote_endpoint(ec).address();
        if (ec) r.text = "not connected: " + ec.message();
        co_return !ec;
    }

    boost::asio::awaitable<boost::system::error_code> write_all(std::string_view bytes) override {
        namespace asio = boost::asio;
        boost::system::error_code ec;
        const auto buf = asio::buffer(bytes.data(), bytes.size());
        if (ssl_) {
            co_await asio::async_write(*ssl_, buf, asio::redirect_error(asio::use_awaitable, ec));
        } else {
            co_await asio::async_write(socket_, buf, asio::redirect_error(asio::use_awaitable, ec));
        }
        co_return ec;
    }

    boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some(
        boost::asio::mutable_buffer into) override {
        namespace asio = boost::asio;
        boost::system::error_code ec;
        std::size_t n = 0;
        if (ssl_) {
            n = co_await ssl_->async_read_some(into, asio::redirect_error(asio::use_awaitable, ec));
        } else {
            n = co_await socket_.async_read_some(into,
                                                 asio::redirect_error(asio::use_awaitable, ec));
        }
        co_return std::make_pair(ec, n);
    }

    SSL* wrap_tls() override {
        ssl_.emplace(socket_, tls_.asio_context());
        return ssl_->native_handle();
    }
    bool tls_wrapped() const override { return ssl_.has_value(); }

    boost::asio::awaitable<boost::system::error_code> tls_handshake() override {
        namespace asio = boost::asio;
        boost::system::error_code ec;
        co_await ssl_->async_handshake(asio::ssl::stream_base::client,
                                       asio::redirect_error(asio::use_awaitable, ec));
        co_return ec;
    }

    boost::asio::awaitable<void> tls_shutdown() override {
        namespace asio = boost::asio;
        boost::system::error_code ec;
        co_await ssl_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    }

    void cancel_io() override {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
    }
    void close_stream() override {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }
    bool stream_open() const override { return socket_.is_open(); }

    Socket socket_;
    std::optional<boost::asio::ssl::stream<Socket&>> ssl_;  // after STARTTLS
};

// Over TCP, connect_stream tries opts_.addresses in order (smtp_client_tcp.cpp).
template <>
boost::asio::awaitable<bool> BasicConnection<boost::asio::ip::tcp::socket>::connect_stream(
    StepResult& r);
extern template class BasicConnection<boost::asio::ip::tcp::socket>;

}  // namespace chainmail::deliver
