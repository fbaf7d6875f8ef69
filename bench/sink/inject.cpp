// inject: the sending end of bench/relay.sh. S blocking SMTP sessions hand a
// relay N messages of SIZE bytes, one recipient each, spread over R recipients
// at the given domains; each message carries "X-Bench-Id: ID" as its first
// header. Either as fast as the relay accepts, or at a fixed total rate.
// For every message the relay acknowledged with 250 after DATA it records the
// CLOCK_MONOTONIC time of that reply; the sink records the arrival.
//
// usage: inject --to IP:PORT --count N --sessions S --size BYTES --domains D1,D2,...
//               --rcpts R [--rate MSG_PER_S] [--out FILE] [--max-seconds T] [--starttls 1]
// --starttls 1 (for the sink's own ceiling) speaks STARTTLS, resuming its last session.
// FILE gets "ID T250_NS" per accepted message; stdout one summary line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void sleep_until_ns(std::int64_t t) {
    timespec ts{static_cast<time_t>(t / 1000000000), static_cast<long>(t % 1000000000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

struct Options {
    std::string ip;
    int port = 0;
    long count = 0;
    int sessions = 20;
    std::size_t size = 10240;
    std::vector<std::string> domains;
    int rcpts = 50;
    double rate = 0;  // 0: as fast as accepted
    std::string out;
    int max_s = 600;
    bool starttls = false;
};

struct SslFree {
    void operator()(SSL* p) const { SSL_free(p); }
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
    void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); }
};
std::unique_ptr<SSL_CTX, SslFree> g_ctx;

// One blocking SMTP connection; every read and write has a 30 s deadline.
class Conn {
  public:
    ~Conn() { close(); }
    void close() {
        if (ssl_) {
            SSL_shutdown(ssl_.get());
            session_.reset(SSL_get1_session(ssl_.get()));
            ssl_.reset();
        }
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        buf_.clear();
    }
    bool open(const std::string& ip, int port) {
        close();
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return false;
        timeval tv{30, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<std::uint16_t>(port));
        if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) return false;
        return ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
    // STARTTLS after EHLO, resuming the session of this connection's predecessor.
    bool start_tls() {
        if (!command("STARTTLS", 220)) return false;
        ssl_.reset(SSL_new(g_ctx.get()));
        if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1) return false;
        if (session_) SSL_set_session(ssl_.get(), session_.get());
        return SSL_connect(ssl_.get()) == 1;
    }
    bool send(const std::string& s) {
        std::size_t off = 0;
        while (off < s.size()) {
            ssize_t n =
                ssl_ ? SSL_write(ssl_.get(), s.data() + off, static_cast<int>(s.size() - off))
                     : ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<std::size_t>(n);
        }
        return true;
    }
    // The code of the next (possibly multi-line) reply; 0 on error.
    int reply() {
        for (int lines = 0; lines < 100; ++lines) {
            std::string l;
            if (!getline(l) || l.size() < 3) return 0;
            if (l.size() == 3 || l[3] == ' ') return std::atoi(l.substr(0, 3).c_str());
        }
        return 0;
    }
    bool command(const std::string& cmd, int want) { return send(cmd + "\r\n") && reply() == want; }

  private:
    bool getline(std::string& l) {
        for (int reads = 0; reads < 1000; ++reads) {
            auto p = buf_.find("\r\n");
            if (p != std::string::npos) {
                l = buf_.substr(0, p);
                buf_.erase(0, p + 2);
                return true;
            }
            char tmp[4096];
            ssize_t n =
                ssl_ ? SSL_read(ssl_.get(), tmp, sizeof tmp) : ::recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) return false;
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
        return false;
    }
    int fd_ = -1;
    std::string buf_;
    std::unique_ptr<SSL, SslFree> ssl_;
    std::unique_ptr<SSL_SESSION, SslFree> session_;
};

std::string make_message(long id, const std::string& rcpt, std::size_t size) {
    std::string m = "X-Bench-Id: " + std::to_string(id) + "\r\nMessage-ID: <" + std::to_string(id) +
                    ".relay@bench.test>\r\nFrom: <bench@bench.test>\r\nTo: <" + rcpt +
                    ">\r\nSubject: relay bench " + std::to_string(id) + "\r\n\r\n";
    const std::string body_line(76, 'x');
    while (m.size() + 78 <= size) m += body_line + "\r\n";
    m += ".\r\n";
    return m;
}

struct Shared {
    std::atomic<long> next{0};
    std::atomic<long> accepted{0};
    std::atomic<long> failed{0};
    std::mutex mu;
    std::vector<std::pair<long, std::int64_t>> acks;  // id, time of the 250
};

void session(const Options& o, int index, std::int64_t t0, std::int64_t deadline, Shared& sh) {
    Conn c;
    bool up = false;
    std::vector<std::pair<long, std::int64_t>> local;
    for (int reconnects = 0; reconnects < 20 && now_ns() < deadline;) {
        if (!up) {
            const std::string ehlo = "EHLO inject" + std::to_string(index) + ".bench.test";
            up = c.open(o.ip, o.port) && c.reply() == 220 && c.command(ehlo, 250) &&
                 (!o.starttls || (c.start_tls() && c.command(ehlo, 250)));
            if (!up) {
                ++reconnects;
                ::usleep(100000);
                continue;
            }
        }
        const long id = sh.next.fetch_add(1);
        if (id >= o.count) break;
        if (o.rate > 0) sleep_until_ns(t0 + static_cast<std::int64_t>(1e9 * id / o.rate));
        const int r = static_cast<int>(id % o.rcpts);
        const std::string rcpt = "u" + std::to_string(r) + "@" +
                                 o.domains[static_cast<std::size_t>(r) % o.domains.size()];
        const bool ok = c.command("MAIL FROM:<bench@bench.test>", 250) &&
                        c.command("RCPT TO:<" + rcpt + ">", 250) && c.command("DATA", 354) &&
                        c.send(make_message(id, rcpt, o.size)) && c.reply() == 250;
        if (ok) {
            local.emplace_back(id, now_ns());
            ++sh.accepted;
        } else {
            // The message is lost for this run (counted); start a fresh session.
            ++sh.failed;
            ++reconnects;
            c.close();
            up = false;
        }
    }
    if (up) c.command("QUIT", 221);
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.acks.insert(sh.acks.end(), local.begin(), local.end());
}

int usage() {
    std::fprintf(stderr,
                 "usage: inject --to IP:PORT --count N --sessions S --size BYTES --domains "
                 "D1,D2,... --rcpts R [--rate MSG_PER_S] [--out FILE] [--max-seconds T]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--to") {
            const auto colon = v.rfind(':');
            if (colon == std::string::npos) return usage();
            o.ip = v.substr(0, colon);
            o.port = std::atoi(v.c_str() + colon + 1);
        } else if (a == "--count") {
            o.count = std::atol(v.c_str());
        } else if (a == "--sessions") {
            o.sessions = std::atoi(v.c_str());
        } else if (a == "--size") {
            o.size = static_cast<std::size_t>(std::atol(v.c_str()));
        } else if (a == "--domains") {
            for (std::size_t b = 0; b <= v.size();) {
                std::size_t e = std::min(v.find(',', b), v.size());
                if (e > b) o.domains.push_back(v.substr(b, e - b));
                b = e + 1;
            }
        } else if (a == "--rcpts") {
            o.rcpts = std::atoi(v.c_str());
        } else if (a == "--rate") {
            o.rate = std::atof(v.c_str());
        } else if (a == "--out") {
            o.out = v;
        } else if (a == "--max-seconds") {
            o.max_s = std::atoi(v.c_str());
        } else if (a == "--starttls") {
            o.starttls = v == "1";
        } else {
            return usage();
        }
    }
    if (argc % 2 == 0 || o.port <= 0 || o.count <= 0 || o.sessions <= 0 || o.domains.empty() ||
        o.rcpts <= 0) {
        return usage();
    }
    ::signal(SIGPIPE, SIG_IGN);  // a peer that hangs up is a failed message, not our end
    // Encryption only, as the relays' `encrypt`: the sink's certificate is not checked.
    g_ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!g_ctx) return 1;
    SSL_CTX_set_session_cache_mode(g_ctx.get(), SSL_SESS_CACHE_CLIENT);
    Shared sh;
    const std::int64_t t0 = now_ns();
    const std::int64_t deadline = t0 + static_cast<std::int64_t>(o.max_s) * 1000000000;
    std::vector<std::thread> threads;
    for (int i = 0; i < o.sessions; ++i) {
        threads.emplace_back(session, std::cref(o), i, t0, deadline, std::ref(sh));
    }
    for (auto& t : threads) t.join();
    const std::int64_t t1 = now_ns();
    if (!o.out.empty()) {
        FILE* f = std::fopen(o.out.c_str(), "w");
        if (f == nullptr) return 1;
        for (const auto& [id, t] : sh.acks)
            std::fprintf(f, "%ld %lld\n", id, static_cast<long long>(t));
        std::fclose(f);
    }
    const double el = static_cast<double>(t1 - t0) / 1e9;
    std::printf("accepted %ld failed %ld elapsed_s %.3f rate %.1f t0_ns %lld t1_ns %lld\n",
                sh.accepted.load(), sh.failed.load(), el, static_cast<double>(sh.accepted) / el,
                static_cast<long long>(t0), static_cast<long long>(t1));
    return sh.failed.load() == 0 && sh.accepted.load() == o.count ? 0 : 1;
}
