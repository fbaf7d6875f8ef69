// smtpbench: small measuring tools for bench/accept.sh, built by the script
// itself. Modes: `idle` holds N SMTP sessions open after EHLO, `latency` times
// end-of-DATA -> reply at a fixed rate, `fsync` counts fdatasync'ed appends/s.
// Every loop is bounded in count and in time; errors end the mode with exit 1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One blocking SMTP connection with a receive deadline per read.
class Conn {
  public:
    ~Conn() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool open(const std::string& host, int port, int timeout_s) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return false;
        timeval tv{timeout_s, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(port));
        if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return false;
        return ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
    bool send_all(const std::string& s) {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }
    // Reads one (possibly multi-line) reply; returns its code, or -1.
    int reply() {
        for (;;) {
            size_t eol = buf_.find("\r\n");
            while (eol != std::string::npos) {
                std::string line = buf_.substr(0, eol);
                buf_.erase(0, eol + 2);
                if (line.size() >= 4 && line[3] == ' ') return std::atoi(line.substr(0, 3).c_str());
                if (line.size() == 3) return std::atoi(line.c_str());
                eol = buf_.find("\r\n");
            }
            char tmp[4096];
            ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) return -1;
            buf_.append(tmp, static_cast<size_t>(n));
        }
    }
    bool command(const std::string& line, int want) {
        return send_all(line + "\r\n") && reply() == want;
    }

  private:
    int fd_ = -1;
    std::string buf_;
};

// A body of `size` bytes in 78-character CRLF lines; no line starts with '.'.
std::string make_body(size_t size, const std::string& id) {
    std::string b = "Subject: bench " + id + "\r\nMessage-ID: <" + id + "@bench.test>\r\n\r\n";
    const std::string line(76, 'x');
    while (b.size() + 78 <= size) b += line + "\r\n";
    return b;
}

int usage() {
    std::fprintf(stderr,
                 "usage: smtpbench idle HOST PORT N MAX_SECONDS\n"
                 "       smtpbench latency HOST PORT SESSIONS RATE COUNT SIZE MAX_SECONDS\n"
                 "       smtpbench fsync DIR MAX_SECONDS MAX_COUNT\n"
                 "       smtpbench steady N COMMAND ARGS...  (COMMAND prints a counter, "
                 "like smtp-source -c)\n");
    return 2;
}

// Opens n sessions (banner + EHLO), prints "ready N", then holds them until
// stdin reaches EOF or max_s has passed.
int mode_idle(const std::string& host, int port, int n, int max_s) {
    const auto t0 = Clock::now();
    std::vector<std::unique_ptr<Conn>> conns;
    // Batches of 100: connect, then read greetings, then EHLO, so a server
    // that delays its greeting (a pregreet test) delays a batch at once, and
    // the listen backlog never holds more than one batch.
    while (static_cast<int>(conns.size()) < n && seconds_since(t0) < max_s) {
        const size_t first = conns.size();
        const size_t last = std::min<size_t>(first + 100, static_cast<size_t>(n));
        for (size_t i = first; i < last; ++i) {
            auto c = std::make_unique<Conn>();
            if (!c->open(host, port, 30)) {
                std::fprintf(stderr, "idle: connect %zu failed\n", i);
                return 1;
            }
            conns.push_back(std::move(c));
        }
        for (size_t i = first; i < last; ++i) {
            if (conns[i]->reply() != 220) {
                std::fprintf(stderr, "idle: no greeting on session %zu\n", i);
                return 1;
            }
        }
        for (size_t i = first; i < last; ++i) {
            if (!conns[i]->command("EHLO idle" + std::to_string(i) + ".bench.test", 250)) {
                std::fprintf(stderr, "idle: EHLO failed on session %zu\n", i);
                return 1;
            }
        }
    }
    if (static_cast<int>(conns.size()) != n) {
        std::fprintf(stderr, "idle: only %zu sessions in time\n", conns.size());
        return 1;
    }
    std::printf("ready %d\n", n);
    std::fflush(stdout);
    pollfd p{0, POLLIN, 0};
    while (seconds_since(t0) < max_s) {
        int r = ::poll(&p, 1, 200);
        if (r > 0) {
            char c;
            if (::read(0, &c, 1) <= 0) break;
        }
    }
    return 0;
}

struct LatencyResult {
    std::mutex mu;
    std::vector<double> ms;
    std::atomic<int> errors{0};
    std::atomic<int> budget{0};  // messages still to send, shared
};

// One session sending at `rate` messages/s until the shared budget or the
// deadline runs out; each sample is the time from sending the final "." line
// (completing CRLF.CRLF) to reading the reply code.
void latency_session(const std::string& host, int port, double rate, size_t size,
                     Clock::time_point deadline, int index, int sessions, LatencyResult& out) {
    Conn c;
    if (!c.open(host, port, 30) || c.reply() != 220 ||
        !c.command("EHLO lat" + std::to_string(index) + ".bench.test", 250)) {
        ++out.errors;
        return;
    }
    const auto period =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
    // Spread the sessions over one period so they do not arrive in lockstep.
    auto next = Clock::now() + period * index / sessions;
    std::vector<double> local;
    for (int seq = 0; Clock::now() < deadline; ++seq) {
        if (out.budget.fetch_sub(1) <= 0) break;
        std::this_thread::sleep_until(next);
        next += period;
        std::string id = "l" + std::to_string(index) + "-" + std::to_string(seq);
        if (!c.command("MAIL FROM:<bench@bench.test>", 250) ||
            !c.command("RCPT TO:<rcpt@bench.test>", 250) || !c.command("DATA", 354) ||
            !c.send_all(make_body(size, id))) {
            ++out.errors;
            return;
        }
        const auto t0 = Clock::now();
        if (!c.send_all(".\r\n")) {
            ++out.errors;
            return;
        }
        int code = c.reply();
        const double ms = seconds_since(t0) * 1000.0;
        if (code != 250) {
            ++out.errors;
            return;
        }
        local.push_back(ms);
    }
    c.command("QUIT", 221);
    std::lock_guard<std::mutex> lock(out.mu);
    out.ms.insert(out.ms.end(), local.begin(), local.end());
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int mode_latency(const std::string& host, int port, int sessions, double rate, int count,
                 size_t size, int max_s) {
    LatencyResult res;
    res.budget = count;
    const auto t0 = Clock::now();
    const auto deadline = t0 + std::chrono::seconds(max_s);
    std::vector<std::thread> threads;
    for (int i = 0; i < sessions; ++i) {
        threads.emplace_back(latency_session, host, port, rate / sessions, size, deadline, i,
                             sessions, std::ref(res));
    }
    for (auto& t : threads) t.join();
    const double elapsed = seconds_since(t0);
    auto& v = res.ms;
    const size_t n = v.size();
    std::printf(
        "samples %zu errors %d elapsed_s %.2f rate %.1f p50_ms %.3f p90_ms %.3f "
        "p99_ms %.3f max_ms %.3f\n",
        n, res.errors.load(), elapsed, static_cast<double>(n) / elapsed, percentile(v, 0.50),
        percentile(v, 0.90), percentile(v, 0.99), percentile(v, 1.0));
    return res.errors.load() == 0 && n > 0 ? 0 : 1;
}

// 4 KB appends, each followed by fdatasync: the rate of durable batches.
int mode_fsync(const std::string& dir, double max_s, long max_count) {
    const std::string path = dir + "/fsync-probe.dat";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::perror("open");
        return 1;
    }
    const std::string block(4096, 'f');
    const auto t0 = Clock::now();
    long n = 0;
    while (n < max_count && seconds_since(t0) < max_s) {
        if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
            ::fdatasync(fd) != 0) {
            std::perror("write/fdatasync");
            ::close(fd);
            return 1;
        }
        ++n;
    }
    const double el = seconds_since(t0);
    ::close(fd);
    ::unlink(path.c_str());
    std::printf("syncs %ld elapsed_s %.3f per_s %.1f\n", n, el, static_cast<double>(n) / el);
    return 0;
}

// Runs a load generator that prints "1\r2\r..." as messages complete and
// times the steady part: from 10% to 90% of N, so connection set-up and the
// tail of the last sessions do not count. Also reports the wall-clock rate.
int mode_steady(long n, char** cmd) {
    int fds[2];
    if (::pipe(fds) != 0) return 1;
    const auto t0 = Clock::now();
    pid_t pid = ::fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execvp(cmd[0], cmd);
        _exit(127);
    }
    ::close(fds[1]);
    const long lo = n / 10, hi = n - n / 10;
    double t_lo = -1, t_hi = -1;
    long count = 0, digits = 0;
    char buf[4096];
    ssize_t r;
    while ((r = ::read(fds[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < r; ++i) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                digits = digits * 10 + (buf[i] - '0');
            } else if (buf[i] == '\r') {
                count = digits;
                digits = 0;
                if (t_lo < 0 && count >= lo) t_lo = seconds_since(t0);
                if (t_hi < 0 && count >= hi) t_hi = seconds_since(t0);
            }
        }
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const double wall = seconds_since(t0);
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const double steady =
        t_hi > t_lo && t_lo >= 0 ? static_cast<double>(hi - lo) / (t_hi - t_lo) : 0;
    std::printf("count %ld wall_s %.3f wall_rate %.1f steady_rate %.1f exit %d\n", count, wall,
                static_cast<double>(count) / wall, steady, rc);
    return rc == 0 && count == n ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string mode = argv[1];
    if (mode == "idle" && argc == 6) {
        return mode_idle(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]));
    }
    if (mode == "latency" && argc == 9) {
        return mode_latency(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atof(argv[5]),
                            std::atoi(argv[6]), static_cast<size_t>(std::atol(argv[7])),
                            std::atoi(argv[8]));
    }
    if (mode == "fsync" && argc == 5) {
        return mode_fsync(argv[2], std::atof(argv[3]), std::atol(argv[4]));
    }
    if (mode == "steady" && argc >= 4) {
        return mode_steady(std::atol(argv[2]), argv + 3);
    }
    return usage();
}
