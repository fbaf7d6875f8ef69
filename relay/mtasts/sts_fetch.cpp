#include "relay/mtasts/sts_fetch.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <stdexcept>

#include "policy/mta_sts.hpp"

namespace chainmail::mtasts {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr const char* kPath = "/.well-known/mta-sts.txt";

std::string verify_error(SSL* ssl) {
    const long vr = SSL_get_verify_result(ssl);
    if (vr == X509_V_OK) return {};
    return X509_verify_cert_error_string(vr);
}

}  // namespace

bool is_text_plain(std::string_view ct) {
    const std::size_t semi = ct.find(';');
    std::string_view type = ct.substr(0, semi);
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
    constexpr std::string_view want = "text/plain";
    if (type.size() != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(type[i])) != want[i]) return false;
    return true;
}

StsFetcher::StsFetcher(const std::string& ca_file) : ctx_(asio::ssl::context::tls_client) {
    SSL_CTX* ctx = ctx_.native_handle();
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1)
        throw std::runtime_error("cannot load the CA file " + ca_file);
    // RFC 8461 §3.3: the policy host's certificate must be PKIX-valid for its name.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
}

asio::awaitable<HttpsResult> StsFetcher::request(std::string host,
                                                 std::vector<asio::ip::address> addresses,
                                                 std::uint16_t port,
                                                 std::chrono::milliseconds timeout,
                                                 std::string method, std::string target,
                                                 std::string body, std::string content_type) {
    HttpsResult out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto ex = co_await asio::this_coro::executor;
    beast::ssl_stream<beast::tcp_stream> stream(ex, ctx_);
    SSL* ssl = stream.native_handle();
    // SNI and the name the certificate must carry (RFC 6125 DNS-ID, no partial wildcards).
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, host.c_str());

    boost::system::error_code ec;
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_at(deadline);
    std::string connect_errors;
    bool connected = false;
    for (const auto& a : addresses) {
        co_await tcp.async_connect(asio::ip::tcp::endpoint(a, port),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
            connected = true;
            break;
        }
        connect_errors +=
            (connect_errors.empty() ? "" : ", ") + a.to_string() + ": " + ec.message();
        if (std::chrono::steady_clock::now() >= deadline) break;
        tcp.close();
        tcp.expires_at(deadline);
    }
    if (addresses.empty()) {
        out.error = host + " has no address";
        co_return out;
    }
    if (!connected) {
        out.error = "cannot connect to " + host + " port " + std::to_string(port) + " (" +
                    connect_errors + ")";
        co_return out;
    }
    co_await stream.async_handshake(asio::ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        const std::string why = verify_error(ssl);
        out.pkix_failed = !why.empty();
        out.error = "TLS with " + host + " failed: " + (why.empty() ? ec.message() : why);
        co_return out;
    }

    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, port == 443 ? host : host + ":" + std::to_string(port));
    req.set(http::field::user_agent, "chainmail");
    req.set(http::field::connection, "close");
    if (!body.empty()) {
        req.set(http::field::content_type, content_type);
        req.body() = std::move(body);
        req.prepare_payload();
    }
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.error = "sending the request to " + host + " failed: " + ec.message();
        co_return out;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(policy::kStsMaxBody);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit) {
        out.error = "the answer of " + host + " is larger than 64 KB";
        co_return out;
    }
    if (ec) {
        out.error = "reading the answer of " + host + " failed: " +
                    (ec == beast::error::timeout ? std::string("timed out") : ec.message());
        co_return out;
    }
    const auto& res = parser.get();
    out.status = res.result_int();
    const auto ct = res[http::field::content_type];
    out.content_type.assign(ct.data(), ct.size());
    out.body = res.body();
    co_return out;
}

asio::awaitable<FetchResult> StsFetcher::fetch(std::string host,
                                               std::vector<asio::ip::address> addresses,
                                               std::uint16_t port,
                                               std::chrono::milliseconds timeout) {
    FetchResult out;
    // Named values only: g++ 12 may destroy a temporary in a co_await argument list twice.
    std::string method = "GET", target = kPath, none;
    HttpsResult res =
        co_await request(host, std::move(addresses), port, timeout, method, target, none, none);
    if (res.status == 0) {
        // The fetch's own words for a policy too large.
        if (res.error.rfind("the answer of ", 0) == 0 &&
            res.error.find("64 KB") != std::string::npos)
            res.error = "the policy at " + host + " is larger than 64 KB";
        out.error = std::move(res.error);
        out.pkix_failed = res.pkix_failed;
        co_return out;
    }
    const unsigned status = res.status;
    // RFC 8461 §3.3: redirects are not followed; only 200 carries a policy.
    if (status != 200) {
        out.error = "https://" + host + kPath + " answered HTTP " + std::to_string(status) +
                    (status >= 300 && status < 400 ? " (redirects are not followed)" : "");
        co_return out;
    }
    if (!is_text_plain(res.content_type)) {
        out.error = "https://" + host + kPath +
                    " is not text/plain (Content-Type: " + res.content_type + ")";
        co_return out;
    }
    out.body = std::move(res.body);
    co_return out;
}

}  // namespace chainmail::mtasts
