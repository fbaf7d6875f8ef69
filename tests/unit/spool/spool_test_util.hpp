// Helpers for the spool tests: a temporary directory removed at the end, a
// way to wait for a spool coroutine, and a sample envelope.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "relay/clock/wall_clock.hpp"
#include "relay/spool/spool.hpp"

namespace spool_test {

namespace fs = std::filesystem;
using namespace chainmail::spool;

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "chainmail-spool-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string sub(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

// Runs one spool call to completion on a fresh io_context.
inline std::error_code wait(boost::asio::awaitable<std::error_code> call) {
    boost::asio::io_context io;
    std::error_code out;
    std::exception_ptr failure;
    boost::asio::co_spawn(io, std::move(call), [&](std::exception_ptr e, std::error_code ec) {
        failure = e;
        out = ec;
    });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return out;
}

inline Envelope sample_envelope(int recipients = 2) {
    Envelope env;
    env.arrival_ms = chainmail::clock::now_ms();  // the caller stamps the arrival
    env.sender = "alice@gemeente.example";
    for (int i = 0; i < recipients; ++i) {
        Recipient r;
        r.address = "rcpt" + std::to_string(i) + "@ziekenhuis-west.example";
        r.orcpt = "rfc822;" + r.address;
        r.notify = kNotifyFailure | kNotifyDelay;
        env.recipients.push_back(r);
    }
    env.ret = Ret::Hdrs;
    env.envid = "env-42";
    env.body = BodyType::EightBitMime;
    env.smtputf8 = true;
    env.requiretls = true;
    env.client_ip = "192.0.2.7";
    env.client_helo = "exchange.gemeente.example";
    env.client_tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
    env.auth_user = "app1";
    env.message_id = "<1234@gemeente.example>";
    return env;
}

inline std::string sample_message(std::size_t size, char fill = 'x') {
    std::string m = "Subject: test\r\n\r\n";
    while (m.size() + 2 < size) m.push_back(fill);
    m += "\r\n";
    return m;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_file(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline std::vector<std::string> segment_files(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".seg") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace spool_test
