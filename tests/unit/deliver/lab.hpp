// lab: what the deliver tests stand on: a temporary directory, a test PKI
// made by tests/lab/lib/certs.sh, an smtp_peer.py process on a free port,
// and a way to run a coroutine to its end. Everything is removed afterwards.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lab {

inline std::string source(const std::string& rel) {
    return std::string(CHAINMAIL_SOURCE_DIR) + "/" + rel;
}

// Runs a shell command, returns its stdout; throws when it fails.
inline std::string sh(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen: " + cmd);
    std::array<char, 512> buf;
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    if (pclose(p) != 0) throw std::runtime_error("failed: " + cmd);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "cm-deliver-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

// One PKI for the whole test binary: root CA, intermediate, and certificates:
//   mx     mx.example.test, by the intermediate (mx.chain.pem: leaf + int;
//          mx.full.pem: leaf + int + root)
//   wrong  other.example.test, by the intermediate
//   self   mx.example.test, self-signed
//   old    wrong.invalid, self-signed, expired in 2020
struct Pki {
    TempDir dir;
    std::string script = source("tests/lab/lib/certs.sh");
    Pki() {
        const std::string d = dir.path;
        sh("bash " + script + " ca " + d + " >/dev/null");
        sh("bash " + script + " intermediate " + d + " >/dev/null");
        sh("bash " + script + " server " + d + " mx mx.example.test >/dev/null");
        sh("bash " + script + " server " + d + " wrong other.example.test >/dev/null");
        sh("bash " + script + " selfsigned " + d + " self mx.example.test >/dev/null");
        sh("bash " + script + " expired " + d + " old wrong.invalid >/dev/null");
        sh("cat " + d + "/mx.chain.pem " + d + "/ca.crt > " + d + "/mx.full.pem");
    }
    std::string path(const std::string& name) const { return dir.path + "/" + name; }
    std::string digest(const std::string& what, const std::string& cert) const {
        return sh("bash " + script + " " + what + " " + path(cert));
    }
};

inline const Pki& pki() {
    static const Pki p;
    return p;
}

inline std::vector<std::uint8_t> unhex(const std::string& h) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

inline std::array<std::uint8_t, 32> digest32(const std::string& h) {
    std::array<std::uint8_t, 32> a{};
    const auto v = unhex(h);
    std::copy_n(v.begin(), std::min<std::size_t>(32, v.size()), a.begin());
    return a;
}

// smtp_peer.py on 127.0.0.1 and a free port, recording into a JSON file.
class Peer {
  public:
    explicit Peer(std::vector<std::string> args) {
        record_ = dir_.path + "/record.json";
        std::vector<std::string> argv{"/usr/bin/python3", source("tests/lab/lib/smtp_peer.py"),
                                      "--record",         record_,
                                      "--lifetime",       "120"};
        argv.insert(argv.end(), args.begin(), args.end());
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
            std::vector<char*> cargv;
            for (auto& a : argv) cargv.push_back(a.data());
            cargv.push_back(nullptr);
            execv(cargv[0], cargv.data());
            _exit(127);
        }
        close(fds[1]);
        std::string line;
        pollfd pfd{fds[0], POLLIN, 0};
        char c = 0;
        while (line.find('\n') == std::string::npos && poll(&pfd, 1, 20000) > 0 &&
               read(fds[0], &c, 1) == 1)
            line.push_back(c);
        close(fds[0]);
        port_ = std::atoi(line.c_str());
        if (port_ <= 0) throw std::runtime_error("smtp_peer.py did not start");
    }
    ~Peer() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
    }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    std::uint16_t port() const { return static_cast<std::uint16_t>(port_); }
    nlohmann::json record() const {
        std::ifstream in(record_);
        return nlohmann::json::parse(in);
    }
    // How many events with this command the peer saw.
    int count(const std::string& cmd) const {
        int n = 0;
        const nlohmann::json rec = record();  // the loop must not outlive it
        for (const auto& e : rec["events"]) n += e["cmd"] == cmd ? 1 : 0;
        return n;
    }

  private:
    TempDir dir_;
    std::string record_;
    pid_t pid_ = -1;
    int port_ = 0;
};

// Runs one coroutine on `io` until it (and everything it started) is done.
template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
    std::optional<T> out;
    std::exception_ptr error;
    boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) out.emplace(std::move(v));
    });
    io.restart();
    io.run();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
}

}  // namespace lab
