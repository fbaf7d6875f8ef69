#include <catch2/catch.hpp>

#include "policy/tls_level.hpp"

using namespace chainmail::policy;

TEST_CASE("every TLS level name parses and prints back") {
    for (auto name : {"none", "may", "encrypt", "fingerprint", "verify", "secure", "dane",
                      "dane-only", "authenticated"}) {
        auto level = parse_tls_level(name);
        REQUIRE(level);
        CHECK(to_string(*level) == name);
    }
    CHECK_FALSE(parse_tls_level("DANE"));
    CHECK_FALSE(parse_tls_level("tls"));
}

TEST_CASE("levels that require TLS never allow plaintext") {
    CHECK_FALSE(requires_tls(TlsLevel::None));
    CHECK_FALSE(requires_tls(TlsLevel::May));
    CHECK(requires_tls(TlsLevel::Encrypt));
    CHECK(requires_tls(TlsLevel::DaneOnly));
    CHECK(requires_tls(TlsLevel::Authenticated));
}
