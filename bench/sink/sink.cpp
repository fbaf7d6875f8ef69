// sink: the receiving end of bench/relay.sh. Accepts any mail on one or more
// IP:PORT listeners (one thread, Boost.Asio), discards it, and records for each
// message its X-Bench-Id and the CLOCK_MONOTONIC time its end of data arrived.
// Offers PIPELINING and STARTTLS (session tickets and a server session cache,
// so clients can resume), and with --chunking CHUNKING (BDAT, RFC 3030);
// counts connections and full vs resumed handshakes.
// --gate holds every greeting until SIGUSR1 (a pre-queued relay is released at
// once). SIGTERM, SIGINT or --max-seconds write the report and end the process.
//
// usage: sink --listen IP:PORT... --report FILE [--status FILE] [--cert PEM --key PEM]
//             [--chunking] [--gate] [--max-seconds N]
// FILE gets one "listener ..." line per listener and a "total ..." line;
// FILE.arrivals gets "ID T_NS" per message (ID -1 when the message had none).
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <sys/resource.h>
#include <time.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Counters {
    std::uint64_t messages = 0;
    std::uint64_t connections = 0;
    std::uint64_t tls_full = 0;
    std::uint64_t tls_resumed = 0;
    std::uint64_t tls_failed = 0;
    std::uint64_t plain_messages = 0;  // ended without TLS
};

struct Listener {
    std::string spec;  // "IP:PORT" as given
    Counters c;
};

struct Arrival {
    std::int64_t id;
    std::int64_t t_ns;
};

struct Sink {
    asio::io_context io{1};
    ssl::context tls{ssl::context::tls_server};
    bool has_tls = false;
    bool chunking = false;
    bool gated = false;
    asio::steady_timer gate{io};
    std::int64_t release_ns = 0;
    std::deque<Listener> listeners;  // stable addresses
    Counters total;
    std::vector<Arrival> arrivals;
    std::string report_path;
    std::string status_path;
    std::uint64_t status_written = std::numeric_limits<std::uint64_t>::max();
};

constexpr std::size_t kBufSize = 256 * 1024;
constexpr std::size_t kMaxLine = 8192;
constexpr std::size_t kHeaderScan = 16384;  // the relays prepend Received: lines

std::int64_t bench_id(const std::string& head) {
    static const char kTag[] = "\nX-Bench-Id: ";
    auto p = head.find(kTag);
    if (p == std::string::npos) return -1;
    return std::strtoll(head.c_str() + p + sizeof kTag - 1, nullptr, 10);
}

bool is_verb(const char* line, std::size_t len, const char* verb) {
    const std::size_t n = std::strlen(verb);
    if (len < n || ::strncasecmp(line, verb, n) != 0) return false;
    return len == n || line[n] == ' ' || line[n] == '\r' || line[n] == '\n';
}

class Session {
  public:
    Session(Sink& sink, Listener& l, tcp::socket sock)
        : sink_(sink), l_(l), stream_(std::move(sock), sink.tls), buf_(kBufSize) {}

    asio::awaitable<void> run() {
        error_code ec;
        count(&Counters::connections);
        stream_.next_layer().set_option(tcp::no_delay(true), ec);
        if (sink_.gated) {
            co_await sink_.gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        out_ = "220 sink.bench ESMTP\r\n";
        if (!co_await flush()) co_return;
        for (int rounds = 0; rounds < 100000000; ++rounds) {  // bounded: ends on EOF
            if (b_ > 0 && (b_ == e_ || e_ > buf_.size() / 2)) {
                std::memmove(buf_.data(), buf_.data() + b_, e_ - b_);
                e_ -= b_;
                b_ = 0;
            }
            const std::size_t n = co_await read_some();
            if (n == 0) co_return;
            e_ += n;
            const Step s = process();
            if (!co_await flush()) co_return;
            if (s == Step::Close) co_return;
            if (s == Step::StartTls && !co_await start_tls()) co_return;
        }
    }

  private:
    enum class Step { More, Close, StartTls };

    void count(std::uint64_t Counters::*field) {
        ++(l_.c.*field);
        ++(sink_.total.*field);
    }

    asio::awaitable<std::size_t> read_some() {
        error_code ec;
        auto mb = asio::buffer(buf_.data() + e_, buf_.size() - e_);
        std::size_t n = tls_ ? co_await stream_.async_read_some(
                                   mb, asio::redirect_error(asio::use_awaitable, ec))
                             : co_await stream_.next_layer().async_read_some(
                                   mb, asio::redirect_error(asio::use_awaitable, ec));
        co_return ec ? 0 : n;
    }

    asio::awaitable<bool> flush() {
        if (out_.empty()) co_return true;
        error_code ec;
        if (tls_) {
            co_await asio::async_write(stream_, asio::buffer(out_),
                                       asio::redirect_error(asio::use_awaitable, ec));
        } else {
            co_await asio::async_write(stream_.next_layer(), asio::buffer(out_),
                                       asio::redirect_error(asio::use_awaitable, ec));
        }
        out_.clear();
        co_return !ec;
    }

    asio::awaitable<bool> start_tls() {
        // RFC 3207 §4.2: anything the client pipelined after STARTTLS is discarded.
        b_ = e_ = 0;
        error_code ec;
        co_await stream_.async_handshake(ssl::stream_base::server,
                                         asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            count(&Counters::tls_failed);
            co_return false;
        }
        count(SSL_session_reused(stream_.native_handle()) ? &Counters::tls_resumed
                                                          : &Counters::tls_full);
        tls_ = true;
        co_return true;
    }

    // Consumes complete lines and data from buf_[b_, e_); replies go to out_,
    // sent in one write per read, which is what PIPELINING needs.
    Step process() {
        while (b_ < e_) {
            if (data_) {
                if (!data_step()) return Step::More;
                continue;
            }
            if (in_chunk_) {
                if (!chunk_step()) return Step::More;
                continue;
            }
            char* start = buf_.data() + b_;
            auto* nl = static_cast<char*>(std::memchr(start, '\n', e_ - b_));
            if (nl == nullptr) {
                if (e_ - b_ > kMaxLine) {
                    out_ += "500 5.5.0 Line too long\r\n";
                    return Step::Close;
                }
                return Step::More;
            }
            const std::size_t len = static_cast<std::size_t>(nl - start) + 1;
            b_ += len;
            const Step s = command(start, len);
            if (in_chunk_ && chunk_left_ == 0) chunk_step();  // "BDAT 0 LAST"
            if (s != Step::More) return s;
        }
        return Step::More;
    }

    Step command(const char* line, std::size_t len) {
        if (is_verb(line, len, "EHLO")) {
            out_ += "250-sink.bench\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250-8BITMIME\r\n";
            if (sink_.has_tls && !tls_) out_ += "250-STARTTLS\r\n";
            if (sink_.chunking) out_ += "250-CHUNKING\r\n";
            out_ += "250 ENHANCEDSTATUSCODES\r\n";
        } else if (is_verb(line, len, "HELO")) {
            out_ += "250 sink.bench\r\n";
        } else if (is_verb(line, len, "MAIL")) {
            head_.clear();  // a new message: DATA or its first BDAT chunk fills it
            out_ += "250 2.1.0 Ok\r\n";
        } else if (is_verb(line, len, "RCPT")) {
            out_ += "250 2.1.5 Ok\r\n";
        } else if (is_verb(line, len, "DATA")) {
            out_ += "354 End data with <CR><LF>.<CR><LF>\r\n";
            data_ = true;
            data_start_ = true;
        } else if (sink_.chunking && is_verb(line, len, "BDAT")) {
            // RFC 3030 §2: "BDAT size [LAST]", then exactly size octets.
            char* end = nullptr;
            const unsigned long long n = std::strtoull(line + 5, &end, 10);
            if (end == line + 5) {
                out_ += "501 5.5.4 Syntax: BDAT size [LAST]\r\n";
                return Step::More;
            }
            while (*end == ' ') ++end;
            chunk_left_ = n;
            chunk_last_ = ::strncasecmp(end, "LAST", 4) == 0;
            in_chunk_ = true;
        } else if (is_verb(line, len, "RSET") || is_verb(line, len, "NOOP")) {
            out_ += "250 2.0.0 Ok\r\n";
        } else if (is_verb(line, len, "QUIT")) {
            out_ += "221 2.0.0 Bye\r\n";
            return Step::Close;
        } else if (is_verb(line, len, "STARTTLS")) {
            if (!sink_.has_tls || tls_) {
                out_ += "454 4.7.0 TLS not available\r\n";
            } else {
                out_ += "220 2.0.0 Ready to start TLS\r\n";
                return Step::StartTls;
            }
        } else {
            out_ += "502 5.5.2 Command not recognized\r\n";
        }
        return Step::More;
    }

    // One step of DATA: true when the message ended (state back to commands).
    bool data_step() {
        const char* start = buf_.data() + b_;
        const std::size_t avail = e_ - b_;
        std::size_t end = std::string::npos;  // offset just past the terminator
        if (data_start_ && avail >= 3 && std::memcmp(start, ".\r\n", 3) == 0) {
            end = 3;
        } else {
            static const char kEnd[] = "\r\n.\r\n";
            auto* p = static_cast<const char*>(::memmem(start, avail, kEnd, 5));
            if (p != nullptr) end = static_cast<std::size_t>(p - start) + 5;
        }
        if (end == std::string::npos) {
            if (data_start_ && avail < 3) return false;
            // Keep 4 bytes: a terminator may straddle this read and the next.
            const std::size_t take = avail > 4 ? avail - 4 : 0;
            keep_head(start, take);
            b_ += take;
            if (take > 0) data_start_ = false;
            return false;
        }
        const std::int64_t t = now_ns();
        keep_head(start, end);
        b_ += end;
        data_ = false;
        message_ended(t);
        return true;
    }

    // The end of data (DATA's dot or the LAST chunk) arrived at time t.
    void message_ended(std::int64_t t) {
        count(&Counters::messages);
        if (!tls_) count(&Counters::plain_messages);
        sink_.arrivals.push_back({bench_id(head_), t});
        out_ += "250 2.0.0 Ok: queued\r\n";
    }

    // One step of a BDAT chunk: true when it is complete (state back to commands).
    bool chunk_step() {
        const std::size_t take =
            static_cast<std::size_t>(std::min<unsigned long long>(chunk_left_, e_ - b_));
        keep_head(buf_.data() + b_, take);
        b_ += take;
        chunk_left_ -= take;
        if (chunk_left_ > 0) return false;
        in_chunk_ = false;
        if (!chunk_last_) {
            out_ += "250 2.0.0 Ok: chunk\r\n";
            return true;
        }
        message_ended(now_ns());
        return true;
    }

    void keep_head(const char* p, std::size_t n) {
        if (head_.size() >= kHeaderScan) return;
        if (head_.empty()) head_ = "\n";  // so the first header line matches "\nX-..."
        head_.append(p, std::min(n, kHeaderScan - head_.size()));
    }

    Sink& sink_;
    Listener& l_;
    ssl::stream<tcp::socket> stream_;
    std::vector<char> buf_;
    std::size_t b_ = 0, e_ = 0;
    std::string out_;
    std::string head_;
    bool tls_ = false;
    bool data_ = false;
    bool data_start_ = false;
    unsigned long long chunk_left_ = 0;  // octets of the current BDAT chunk still to come
    bool in_chunk_ = false;
    bool chunk_last_ = false;
};

// Runs until io.stop(): the process lifetime (--max-seconds) bounds it.
asio::awaitable<void> accept_loop(Sink& sink, Listener& l, tcp::acceptor acc) {
    for (;;) {
        error_code ec;
        tcp::socket sock = co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;  // EMFILE and the like: the client retries
        asio::co_spawn(
            sink.io,
            [&sink, &l, s = std::move(sock)]() mutable -> asio::awaitable<void> {
                Session session(sink, l, std::move(s));
                co_await session.run();
            },
            asio::detached);
    }
}

void line(FILE* f, const char* label, const Counters& c) {
    std::fprintf(f,
                 "%s messages %llu connections %llu tls_full %llu tls_resumed %llu tls_failed "
                 "%llu plain_messages %llu",
                 label, static_cast<unsigned long long>(c.messages),
                 static_cast<unsigned long long>(c.connections),
                 static_cast<unsigned long long>(c.tls_full),
                 static_cast<unsigned long long>(c.tls_resumed),
                 static_cast<unsigned long long>(c.tls_failed),
                 static_cast<unsigned long long>(c.plain_messages));
}

void write_status(Sink& sink) {
    if (sink.status_path.empty() || sink.status_written == sink.total.messages) return;
    const std::string tmp = sink.status_path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return;
    line(f, "total", sink.total);
    std::fprintf(f, "\n");
    std::fclose(f);
    std::rename(tmp.c_str(), sink.status_path.c_str());
    sink.status_written = sink.total.messages;
}

void write_report(Sink& sink) {
    const std::string arr = sink.report_path + ".arrivals";
    if (FILE* f = std::fopen(arr.c_str(), "w")) {
        for (const Arrival& a : sink.arrivals) {
            std::fprintf(f, "%lld %lld\n", static_cast<long long>(a.id),
                         static_cast<long long>(a.t_ns));
        }
        std::fclose(f);
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    // Written last and renamed into place: its presence means the run is complete.
    const std::string tmp = sink.report_path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return;
    for (const Listener& l : sink.listeners) {
        line(f, ("listener " + l.spec).c_str(), l.c);
        std::fprintf(f, "\n");
    }
    line(f, "total", sink.total);
    std::fprintf(f, " release_ns %lld cpu_s %.3f\n", static_cast<long long>(sink.release_ns), cpu);
    std::fclose(f);
    std::rename(tmp.c_str(), sink.report_path.c_str());
}

asio::awaitable<void> status_loop(Sink& sink) {
    asio::steady_timer t(sink.io);
    for (;;) {
        t.expires_after(std::chrono::milliseconds(100));
        error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        write_status(sink);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: sink --listen IP:PORT... --report FILE [--status FILE]\n"
                 "            [--cert PEM --key PEM] [--chunking] [--gate] [--max-seconds N]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Sink sink;
    std::vector<std::string> specs;
    std::string cert, key;
    int max_s = 600;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_val = i + 1 < argc;
        if (a == "--listen" && has_val) {
            specs.push_back(argv[++i]);
        } else if (a == "--report" && has_val) {
            sink.report_path = argv[++i];
        } else if (a == "--status" && has_val) {
            sink.status_path = argv[++i];
        } else if (a == "--cert" && has_val) {
            cert = argv[++i];
        } else if (a == "--key" && has_val) {
            key = argv[++i];
        } else if (a == "--max-seconds" && has_val) {
            max_s = std::atoi(argv[++i]);
        } else if (a == "--chunking") {
            sink.chunking = true;
        } else if (a == "--gate") {
            sink.gated = true;
        } else {
            return usage();
        }
    }
    if (specs.empty() || sink.report_path.empty() || cert.empty() != key.empty()) return usage();
    try {
        if (!cert.empty()) {
            sink.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                 ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                 ssl::context::no_tlsv1_1);
            sink.tls.use_certificate_chain_file(cert);
            sink.tls.use_private_key_file(key, ssl::context::pem);
            SSL_CTX* ctx = sink.tls.native_handle();
            // TLS 1.2 session-ID resumption needs a context and the server cache;
            // TLS 1.3 and 1.2 tickets are on by default in OpenSSL 3.
            static const unsigned char kSid[] = "chainmail-bench-sink";
            SSL_CTX_set_session_id_context(ctx, kSid, sizeof kSid - 1);
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
            sink.has_tls = true;
        }
        for (const std::string& s : specs) {
            const auto colon = s.rfind(':');
            if (colon == std::string::npos) return usage();
            tcp::endpoint ep(asio::ip::make_address(s.substr(0, colon)),
                             static_cast<unsigned short>(std::atoi(s.c_str() + colon + 1)));
            tcp::acceptor acc(sink.io);
            acc.open(ep.protocol());
            acc.set_option(tcp::acceptor::reuse_address(true));
            acc.bind(ep);
            acc.listen(4096);
            sink.listeners.push_back({s, {}});
            asio::co_spawn(sink.io, accept_loop(sink, sink.listeners.back(), std::move(acc)),
                           asio::detached);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sink: %s\n", e.what());
        return 1;
    }
    sink.gate.expires_at(asio::steady_timer::time_point::max());
    if (!sink.gated) sink.release_ns = now_ns();
    asio::signal_set signals(sink.io, SIGTERM, SIGINT, SIGUSR1);
    std::function<void(const error_code&, int)> on_signal = [&](const error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGUSR1) {
            if (sink.gated) {
                sink.release_ns = now_ns();
                sink.gated = false;
                sink.gate.cancel();
            }
            signals.async_wait(on_signal);
            return;
        }
        sink.io.stop();
    };
    signals.async_wait(on_signal);
    asio::steady_timer lifetime(sink.io);
    lifetime.expires_after(std::chrono::seconds(max_s));
    lifetime.async_wait([&](const error_code& ec) {
        if (!ec) sink.io.stop();
    });
    asio::co_spawn(sink.io, status_loop(sink), asio::detached);
    std::printf("ready\n");
    std::fflush(stdout);
    sink.io.run();
    write_report(sink);
    // Sessions still open are not torn down one by one: the report is written.
    std::fflush(nullptr);
    std::_Exit(0);
}
