// dnslab_fixture: starts the signed DNS lab of tests/lab/lib/dnslab.sh (nsd on
// a free loopback port) once per test binary and stops it at exit; a
// watchdog in the script stops nsd should this process die first.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "config/config.hpp"

namespace chainmail::test {

class DnsLab {
  public:
    static DnsLab& get() {
        static DnsLab lab("lab");
        return lab;
    }
    // The same hierarchy under the special-use TLD test. (RFC 6761 §6.2).
    static DnsLab& get_test_tld() {
        static DnsLab lab("test");
        return lab;
    }

    std::uint16_t port() const { return port_; }
    std::string trust_anchor() const { return (dir_ / "ta.key").string(); }

    // dns settings that point at the lab and trust its anchor.
    config::Dns dns() const {
        config::Dns d;
        d.nameservers.push_back({"127.0.0.1", port_});
        d.trust_anchor_file = trust_anchor();
        return d;
    }

    ~DnsLab() { std::system(("bash " + script() + " stop " + dir_.string()).c_str()); }

  private:
    explicit DnsLab(const std::string& tld) {
        std::random_device rd;
        dir_ = std::filesystem::temp_directory_path() /
               ("chainmail-dnslab-" + tld + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(rd()));
        const std::string cmd = "DNSLAB_TLD=" + tld + " bash " + script() + " start " +
                                dir_.string() + " " + std::to_string(::getpid()) + " >/dev/null";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("dnslab did not start");
        std::ifstream in(dir_ / "port");
        int p = 0;
        if (!(in >> p) || p <= 0 || p > 65535) throw std::runtime_error("dnslab: no port");
        port_ = static_cast<std::uint16_t>(p);
    }
    static std::string script() {
        return std::string(CHAINMAIL_SOURCE_DIR) + "/tests/lab/lib/dnslab.sh";
    }

    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
};

// Runs one awaitable to completion on a fresh io_context (one thread: this one).
template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> aw) {
    std::optional<T> out;
    boost::asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
        if (e) std::rethrow_exception(e);
        out = std::move(v);
    });
    io.restart();
    io.run();
    if (!out) throw std::runtime_error("awaitable did not complete");
    return std::move(*out);
}

}  // namespace chainmail::test
