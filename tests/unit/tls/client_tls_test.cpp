// client_tls without a network: digests agree with openssl's command line,
// the session cache keeps each session once and only while it is valid.
#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <ctime>

#include "../deliver/lab.hpp"
#include "relay/tls/client_tls.hpp"
#include "relay/tls/tls_session_cache.hpp"

using namespace chainmail::tls;

namespace {

X509Ptr load_cert(const std::string& path) {
    BioPtr bio(BIO_new_file(path.c_str(), "r"));
    REQUIRE(bio);
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

SslSessionPtr session(long age_s, long timeout_s) {
    SslSessionPtr s(SSL_SESSION_new());
    SSL_SESSION_set_time(s.get(), static_cast<long>(std::time(nullptr)) - age_s);
    SSL_SESSION_set_timeout(s.get(), timeout_s);
    return s;
}

std::string hex(const std::array<std::uint8_t, 32>& a) {
    std::string s;
    char b[3];
    for (auto c : a) {
        std::snprintf(b, sizeof b, "%02x", c);
        s += b;
    }
    return s;
}

}  // namespace

TEST_CASE("certificate and public-key digests match TLSA 3 0 1 and 3 1 1", "[tls]") {
    const auto cert = load_cert(lab::pki().path("mx.crt"));
    REQUIRE(cert);
    CHECK(hex(cert_sha256(cert.get())) == lab::pki().digest("tlsa201", "mx.crt"));
    CHECK(hex(spki_sha256(cert.get())) == lab::pki().digest("tlsa311", "mx.crt"));
}

TEST_CASE("a cached session is handed out once", "[tls][cache]") {
    SessionCache cache(10);
    cache.put("mx|a", session(0, 300), CachedFacts{chainmail::policy::AuthLabel::DaneEe, "s", "i"});
    CachedFacts facts;
    auto s = cache.take("mx|a", facts);
    CHECK(s);
    CHECK(facts.auth == chainmail::policy::AuthLabel::DaneEe);
    CHECK_FALSE(cache.take("mx|a", facts));
}

TEST_CASE("an expired session is never resumed", "[tls][cache]") {
    SessionCache cache(10);
    cache.put("mx|a", session(600, 300), {});
    CachedFacts facts;
    CHECK_FALSE(cache.take("mx|a", facts));
    CHECK(cache.size() == 0);
}

TEST_CASE("the cache is bounded and forgets the oldest first", "[tls][cache]") {
    SessionCache cache(2);
    cache.put("one", session(0, 300), {});
    cache.put("two", session(0, 300), {});
    cache.put("three", session(0, 300), {});
    CHECK(cache.size() == 2);
    CachedFacts facts;
    CHECK_FALSE(cache.take("one", facts));
    CHECK(cache.take("two", facts));
    CHECK(cache.take("three", facts));
}

TEST_CASE("verification results in words", "[tls]") {
    CHECK(to_string(VerifyResult::VersionTooLow) == "version too low");
}

TEST_CASE("a CA file that cannot be read stops start-up", "[tls]") {
    CHECK_THROWS(ClientTls("/nonexistent/ca.pem"));
    CHECK_NOTHROW(ClientTls(""));
}
