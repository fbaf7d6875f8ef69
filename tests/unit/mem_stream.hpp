// mem_stream: two connected in-memory byte streams with the part of a TCP
// socket the SMTP session and client use (read, write, available, cancel,
// close, shutdown, remote_endpoint), and faults to inject: reads cut to a
// size, a peer that closes, falls silent or stops reading. One thread; tests only.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <algorithm>
#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace memstream {

namespace asio = boost::asio;
using boost::system::error_code;

class Stream {
    struct Side;

    // An async_read_some waiting for bytes, the peer's close, or a cancel.
    struct Reader {
        virtual ~Reader() = default;
        virtual void complete(error_code ec, Side& side) = 0;
    };

    // An async_write_some waiting for room at the peer (capacity()).
    struct Writer {
        virtual ~Writer() = default;
        virtual void complete(error_code ec, Side* to) = 0;  // `to` takes the bytes when !ec
    };

    struct Side {
        explicit Side(asio::any_io_executor e) : ex(std::move(e)) {}
        asio::any_io_executor ex;
        std::weak_ptr<Side> peer;
        std::string in;  // written by the peer, not yet read
        std::size_t capacity = std::numeric_limits<std::size_t>::max();  // of `in`
        std::unique_ptr<Reader> reader;
        std::unique_ptr<Writer> writer;
        bool open = true;
        bool eof = false;  // the peer closed or shut down its sending side
        std::size_t read_max = std::numeric_limits<std::size_t>::max();
        asio::ip::tcp::endpoint remote{asio::ip::make_address("127.0.0.1"), 40000};
    };

    template <class Buffers, class Handler>
    struct ReaderOp final : Reader {
        ReaderOp(Buffers b, Handler h, const asio::any_io_executor& ex)
            : buffers(std::move(b)),
              handler(std::move(h)),
              work(asio::prefer(ex, asio::execution::outstanding_work.tracked)) {}
        void complete(error_code ec, Side& side) override {
            std::size_t n = 0;
            if (!ec) {
                const std::size_t take = std::min(side.in.size(), side.read_max);
                n = asio::buffer_copy(buffers, asio::buffer(side.in.data(), take));
                side.in.erase(0, n);
            }
            post_result(work, std::move(handler), ec, n);
        }
        Buffers buffers;
        Handler handler;
        asio::any_io_executor work;
    };

    template <class Buffers, class Handler>
    struct WriterOp final : Writer {
        WriterOp(Buffers b, Handler h, const asio::any_io_executor& ex)
            : buffers(std::move(b)),
              handler(std::move(h)),
              work(asio::prefer(ex, asio::execution::outstanding_work.tracked)) {}
        void complete(error_code ec, Side* to) override {
            std::size_t n = 0;
            if (!ec) {
                n = std::min(asio::buffer_size(buffers), to->capacity - to->in.size());
                const std::size_t at = to->in.size();
                to->in.resize(at + n);
                asio::buffer_copy(asio::buffer(to->in.data() + at, n), buffers);
            }
            post_result(work, std::move(handler), ec, n);
        }
        Buffers buffers;
        Handler handler;
        asio::any_io_executor work;
    };

    template <class Handler>
    static void post_result(const asio::any_io_executor& ex, Handler&& handler, error_code ec,
                            std::size_t n) {
        auto hex = asio::get_associated_executor(handler, ex);
        asio::post(hex,
                   [h = std::forward<Handler>(handler), ec, n]() mutable { std::move(h)(ec, n); });
    }

    // Completes the parked read when it can: bytes, the end of the stream, or `ec`.
    static void wake_reader(Side& s, error_code ec = {}) {
        if (!s.reader) return;
        if (!ec && s.in.empty() && !s.eof) return;
        if (!ec && s.in.empty()) ec = asio::error::eof;
        auto r = std::move(s.reader);
        r->complete(ec, s);
        if (auto p = s.peer.lock()) wake_writer(*p);  // the read made room
    }

    // Completes the parked write when the peer has room or is gone, or with `ec`.
    static void wake_writer(Side& s, error_code ec = {}) {
        if (!s.writer) return;
        auto p = s.peer.lock();
        if (!ec && (!p || !p->open)) ec = asio::error::broken_pipe;
        if (!ec && p->in.size() >= p->capacity) return;
        auto w = std::move(s.writer);
        w->complete(ec, p.get());
        if (!ec) wake_reader(*p);
    }

  public:
    using executor_type = asio::any_io_executor;
    using lowest_layer_type = Stream;

    // A connected pair: what one writes, the other reads.
    static std::pair<Stream, Stream> pair(const asio::any_io_executor& ex) {
        Stream a(ex), b(ex);
        a.in_->peer = b.in_;
        b.in_->peer = a.in_;
        return {std::move(a), std::move(b)};
    }

    Stream(Stream&&) = default;
    Stream& operator=(Stream&&) = delete;
    ~Stream() {
        if (in_ && in_->open) {
            error_code ignored;
            close(ignored);
        }
    }

    executor_type get_executor() const { return in_->ex; }
    lowest_layer_type& lowest_layer() { return *this; }

    // Faults and observations for tests.
    void read_size(std::size_t n) { in_->read_max = n; }  // every read returns at most n bytes
    // This end holds at most n unread bytes; the peer's writes wait for room
    // (a peer that stops reading).
    void capacity(std::size_t n) { in_->capacity = n; }
    void set_remote(const asio::ip::tcp::endpoint& ep) { in_->remote = ep; }
    bool peer_open() const {
        auto p = in_->peer.lock();
        return p && p->open;
    }

    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                Side& s = *in_;
                if (!s.open)
                    return post_result(s.ex, std::move(handler), asio::error::bad_descriptor, 0);
                if (asio::buffer_size(b) == 0) return post_result(s.ex, std::move(handler), {}, 0);
                using Op = ReaderOp<Buffers, std::decay_t<decltype(handler)>>;
                s.reader = std::make_unique<Op>(b, std::move(handler), s.ex);
                wake_reader(s);
            },
            token, buffers);
    }

    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                Side& s = *in_;
                if (!s.open)
                    return post_result(s.ex, std::move(handler), asio::error::bad_descriptor, 0);
                if (asio::buffer_size(b) == 0) return post_result(s.ex, std::move(handler), {}, 0);
                using Op = WriterOp<Buffers, std::decay_t<decltype(handler)>>;
                s.writer = std::make_unique<Op>(b, std::move(handler), s.ex);
                wake_writer(s);
            },
            token, buffers);
    }

    std::size_t available(error_code& ec) const {
        ec = in_->open ? error_code{} : error_code(asio::error::bad_descriptor);
        return in_->in.size();
    }
    bool is_open() const { return in_->open; }
    // Pending reads and writes end with operation_aborted.
    void cancel(error_code& ec) {
        ec = {};
        wake_reader(*in_, asio::error::operation_aborted);
        wake_writer(*in_, asio::error::operation_aborted);
    }
    // The peer reads what was written, then the end of the stream.
    void shutdown(asio::socket_base::shutdown_type what, error_code& ec) {
        ec = {};
        if (what == asio::socket_base::shutdown_receive) return;
        if (auto p = in_->peer.lock()) {
            p->eof = true;
            wake_reader(*p);
        }
    }
    void close(error_code& ec) {
        shutdown(asio::socket_base::shutdown_both, ec);
        in_->open = false;
        cancel(ec);
        if (auto p = in_->peer.lock()) wake_writer(*p);  // its writes now fail
    }
    asio::ip::tcp::endpoint remote_endpoint(error_code& ec) const {
        ec = {};
        return in_->remote;
    }

  private:
    explicit Stream(const asio::any_io_executor& ex) : in_(std::make_shared<Side>(ex)) {}

    std::shared_ptr<Side> in_;
};

// One scripted end of a stream pair (the test's client or next hop): whole
// writes, buffered reads, and a TLS upgrade; tests add their own readers.
class Peer {
  public:
    explicit Peer(Stream s) : s_(std::move(s)) {}

    Stream& stream() { return s_; }

    // One write (the other end may still read it in pieces). `bytes`
    // outlives the call (a literal, or a named string of the caller).
    boost::asio::awaitable<void> send(std::string_view bytes) {
        boost::system::error_code ec;
        auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
        if (ssl_)
            co_await boost::asio::async_write(*ssl_, boost::asio::buffer(bytes), token);
        else
            co_await boost::asio::async_write(s_, boost::asio::buffer(bytes), token);
    }

    void close() {
        boost::system::error_code ignored;
        s_.close(ignored);
    }

  protected:
    // The TLS handshake as `side`; bytes read before it (and not yet taken)
    // are dropped, and from here on reads and writes go through TLS.
    boost::asio::awaitable<bool> handshake(boost::asio::ssl::context& ctx,
                                           boost::asio::ssl::stream_base::handshake_type side) {
        buf_.clear();
        ssl_.emplace(s_, ctx);
        boost::system::error_code ec;
        co_await ssl_->async_handshake(side,
                                       boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        co_return !ec;
    }

    // Appends what the next read gives to buf_; false when the stream ended.
    boost::asio::awaitable<bool> more() {
        std::array<char, 512> chunk;
        boost::system::error_code ec;
        auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
        std::size_t n = 0;
        if (ssl_)
            n = co_await ssl_->async_read_some(boost::asio::buffer(chunk), token);
        else
            n = co_await s_.async_read_some(boost::asio::buffer(chunk), token);
        buf_.append(chunk.data(), n);
        co_return !ec;
    }

    Stream s_;
    std::optional<boost::asio::ssl::stream<Stream&>> ssl_;
    std::string buf_;
};

}  // namespace memstream
