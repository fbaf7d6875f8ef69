// mem_stream: two connected in-memory byte streams with the part of a TCP
// socket the SMTP session and client use (read, write, available, cancel,
// close, shutdown, remote_endpoint), and faults to inject: reads cut to a
// size, a peer that closes or goes silent. One thread; tests only.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/socket_base.hpp>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>

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

    struct Side {
        explicit Side(asio::any_io_executor e) : ex(std::move(e)) {}
        asio::any_io_executor ex;
        std::string in;  // written by the peer, not yet read
        std::unique_ptr<Reader> reader;
        bool open = true;
        bool eof = false;  // the peer closed or shut down its sending side
        std::size_t read_max = std::numeric_limits<std::size_t>::max();
        asio::ip::tcp::endpoint remote{asio::ip::make_address("127.0.0.1"), 40000};
        std::size_t reads = 0;  // completed reads that returned bytes
    };

    template <class Buffers, class Handler>
    struct ReaderOp final : Reader {
        ReaderOp(Buffers b, Handler h, asio::any_io_executor ex)
            : buffers(std::move(b)),
              handler(std::move(h)),
              work(asio::prefer(ex, asio::execution::outstanding_work.tracked)) {}
        void complete(error_code ec, Side& side) override {
            std::size_t n = 0;
            if (!ec) {
                const std::size_t take = std::min(side.in.size(), side.read_max);
                n = asio::buffer_copy(buffers, asio::buffer(side.in.data(), take));
                side.in.erase(0, n);
                ++side.reads;
            }
            auto ex = asio::get_associated_executor(handler, work);
            asio::post(ex, [h = std::move(handler), ec, n]() mutable { std::move(h)(ec, n); });
        }
        Buffers buffers;
        Handler handler;
        asio::any_io_executor work;
    };

    // Completes the parked read when it can complete: bytes, end of stream, or `ec`.
    static void wake(Side& s, error_code ec = {}) {
        if (!s.reader) return;
        if (!ec && s.in.empty() && !s.eof) return;
        if (!ec && s.in.empty()) ec = asio::error::eof;
        auto r = std::move(s.reader);
        r->complete(ec, s);
    }

    template <class Handler>
    static void post_result(const asio::any_io_executor& ex, Handler&& handler, error_code ec,
                            std::size_t n) {
        auto hex = asio::get_associated_executor(handler, ex);
        asio::post(hex,
                   [h = std::forward<Handler>(handler), ec, n]() mutable { std::move(h)(ec, n); });
    }

  public:
    using executor_type = asio::any_io_executor;
    using lowest_layer_type = Stream;

    // A connected pair: what one writes, the other reads.
    static std::pair<Stream, Stream> pair(const asio::any_io_executor& ex) {
        Stream a(ex), b(ex);
        a.peer_ = b.in_;
        b.peer_ = a.in_;
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
    void set_remote(const asio::ip::tcp::endpoint& ep) { in_->remote = ep; }
    std::size_t reads() const { return in_->reads; }
    bool peer_open() const {
        auto p = peer_.lock();
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
                wake(s);
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
                auto p = peer_.lock();
                if (!p || !p->open)
                    return post_result(s.ex, std::move(handler), asio::error::broken_pipe, 0);
                const std::size_t n = asio::buffer_size(b);
                const std::size_t at = p->in.size();
                p->in.resize(at + n);
                asio::buffer_copy(asio::buffer(p->in.data() + at, n), b);
                wake(*p);
                post_result(s.ex, std::move(handler), {}, n);
            },
            token, buffers);
    }

    std::size_t available(error_code& ec) const {
        ec = in_->open ? error_code{} : error_code(asio::error::bad_descriptor);
        return in_->in.size();
    }
    bool is_open() const { return in_->open; }
    void cancel(error_code& ec) {
        ec = {};
        wake(*in_, asio::error::operation_aborted);
    }
    // The peer reads what was written, then the end of the stream.
    void shutdown(asio::socket_base::shutdown_type what, error_code& ec) {
        ec = {};
        if (what == asio::socket_base::shutdown_receive) return;
        if (auto p = peer_.lock()) {
            p->eof = true;
            wake(*p);
        }
    }
    void close(error_code& ec) {
        shutdown(asio::socket_base::shutdown_both, ec);
        in_->open = false;
        wake(*in_, asio::error::operation_aborted);
    }
    asio::ip::tcp::endpoint remote_endpoint(error_code& ec) const {
        ec = {};
        return in_->remote;
    }

  private:
    explicit Stream(const asio::any_io_executor& ex) : in_(std::make_shared<Side>(ex)) {}

    std::shared_ptr<Side> in_;
    std::weak_ptr<Side> peer_;
};

}  // namespace memstream
