// sts_fetch: one HTTPS GET of https://mta-sts.DOMAIN/.well-known/mta-sts.txt
// (RFC 8461 §3.3) with Beast: PKIX against tls.ca_file, SNI and the host name
// checked, no redirects, at most 64 KB, one deadline; only 200 with text/plain.
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

  private:
    boost::asio::ssl::context ctx_;
};

// "text/plain" or "text/plain; charset=utf-8" (RFC 8461 §3.2), case-insensitive.
bool is_text_plain(std::string_view content_type);

}  // namespace chainmail::mtasts
