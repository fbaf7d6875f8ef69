// `chainmail health`: asks the running server whether it is alive, as a
// container HEALTHCHECK or a monitoring probe would: connects to the first
// listener, waits for the 220 greeting, sends NOOP (RFC 5321 §4.1.1.9) and
// wants 250, then QUIT. Exit 0 when it answered, 1 otherwise, with the reason.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "relay/cli/cli.hpp"

namespace chainmail::cli {

namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// A wildcard listener is asked on loopback: that is where the probe runs.
std::string probe_host(const std::string& host) {
    if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
    if (host == "::") return "::1";
    return host;
}

// One reply, multi-line included ("250-…" lines then "250 …"); "" on error.
std::string read_reply(int fd, std::string& buffer) {
    std::string reply;
    for (;;) {
        auto eol = buffer.find("\r\n");
        while (eol == std::string::npos) {
            char chunk[512];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) return "";
            buffer.append(chunk, static_cast<std::size_t>(n));
            if (buffer.size() > 64 * 1024) return "";
            eol = buffer.find("\r\n");
        }
        std::string line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        reply += line;
        if (line.size() < 4 || line[3] != '-') return reply;
        reply += " ";
    }
}

int unhealthy(const std::string& where, const std::string& why) {
    fmt::print(stderr, "chainmail health: {}: {}\n", where, why);
    return 1;
}

}  // namespace

int cmd_health(const Common& common, int timeout_seconds) {
    auto cfg = load(common);
    if (!cfg) return 1;
    if (cfg->listen.empty()) return unhealthy(cfg->source, "no listener configured");
    const auto& l = cfg->listen.front().address;
    const std::string host = probe_host(l.host);
    const std::string where = host.find(':') != std::string::npos
                                  ? fmt::format("[{}]:{}", host, l.port)
                                  : fmt::format("{}:{}", host, l.port);

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), std::to_string(l.port).c_str(), &hints, &res); rc != 0)
        return unhealthy(where, gai_strerror(rc));
    Fd s{::socket(res->ai_family, res->ai_socktype, res->ai_protocol)};
    if (s.fd < 0) {
        ::freeaddrinfo(res);
        return unhealthy(where, std::strerror(errno));
    }
    // On Linux SO_SNDTIMEO bounds connect() too.
    timeval tv{timeout_seconds, 0};
    ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int rc = ::connect(s.fd, res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    if (rc != 0) return unhealthy(where, std::string("cannot connect: ") + std::strerror(errno));

    std::string buffer;
    std::string greeting = read_reply(s.fd, buffer);
    if (greeting.empty()) return unhealthy(where, "no greeting within the timeout");
    if (greeting.rfind("220", 0) != 0) return unhealthy(where, "greeting: " + greeting);
    const std::string noop = "NOOP\r\n";
    if (::send(s.fd, noop.data(), noop.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(noop.size()))
        return unhealthy(where, std::string("cannot send NOOP: ") + std::strerror(errno));
    std::string reply = read_reply(s.fd, buffer);
    if (reply.rfind("250", 0) != 0)
        return unhealthy(where, reply.empty() ? "no answer to NOOP" : "NOOP: " + reply);
    const std::string quit = "QUIT\r\n";
    ::send(s.fd, quit.data(), quit.size(), MSG_NOSIGNAL);
    fmt::print("{}: ok ({})\n", where, reply);
    return 0;
}

}  // namespace chainmail::cli
