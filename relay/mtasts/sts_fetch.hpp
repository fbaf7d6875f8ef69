// sts_fetch: one HTTPS GET of https://mta-sts.DOMAIN/.well-known/mta-sts.txt
// (RFC 8461 §3.3) with Beast: PKIX against tls.ca_file, SNI and the host name
// checked, no redirects, at most 64 KB, one deadline; only 200 with text/plain.
// request() is the same exchange for any method (TLSRPT's POST, RFC 8460 §5.4).
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chainmail::mtasts {

struct FetchResult {
    std::optional<std::string> body;  // the policy text, unparsed
    std::string error;                // when !body: what failed, in plain words
    bool pkix_failed = false;         // the policy host's certificate did not verify
};

// One HTTPS exchange: the answer's status, type and body, or why there is none.
struct HttpsResult {
    unsigned status = 0;  // 0: no answer (error says why)
    std::string content_type;
    std::string body;
    std::string error;
    bool pkix_failed = false;  // the host's certificate did not verify (PKIX or name)
};

class StsFetcher {
  public:
    // ca_file: the PKIX trust store (config tls.ca_file). Throws
    // std::runtime_error when it cannot be loaded (start-up).
    explicit StsFetcher(const std::string& ca_file);
    StsFetcher(const StsFetcher&) = delete;
    StsFetcher& operator=(const StsFetcher&) = delete;

    // GET from `host` (the policy host, "mta-sts.DOMAIN") at one of `addresses`,
    // tried in order, on `port`. Never throws; every failure is an error text.
    boost::asio::awaitable<FetchResult> fetch(std::string host,
                                              std::vector<boost::asio::ip::address> addresses,
                                              std::uint16_t port,
                                              std::chrono::milliseconds timeout);

    // `method` ("GET", "POST") `target` ("/path?q") at `host`; `body` is sent
    // with `content_type` when not empty. The same rules as fetch(): PKIX and
    // the host name checked, redirects never followed, answers up to 64 KB.
    boost::asio::awaitable<HttpsResult> request(std::string host,
                                                std::vector<boost::asio::ip::address> addresses,
                                                std::uint16_t port,
                                                std::chrono::milliseconds timeout,
                                                std::string method, std::string target,
                                                std::string body, std::string content_type);

  private:
    boost::asio::ssl::context ctx_;
};

// "text/plain" or "text/plain; charset=utf-8" (RFC 8461 §3.2), case-insensitive.
bool is_text_plain(std::string_view content_type);

}  // namespace chainmail::mtasts
