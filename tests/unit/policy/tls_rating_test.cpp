#include <catch2/catch.hpp>

#include "policy/tls_rating.hpp"

using namespace chainmail::policy;

TEST_CASE("NCSC-NL rates TLS 1.3 good, 1.2 sufficient, 1.0 and 1.1 phase-out, SSL insufficient") {
    CHECK(rate_version(TlsVersion::Tls13) == NcscRating::Good);
    CHECK(rate_version(TlsVersion::Tls12) == NcscRating::Sufficient);
    CHECK(rate_version(TlsVersion::Tls11) == NcscRating::PhaseOut);
    CHECK(rate_version(TlsVersion::Tls10) == NcscRating::PhaseOut);
    CHECK(rate_version(TlsVersion::Ssl3) == NcscRating::Insufficient);
    CHECK(rate_version(TlsVersion::Unknown) == NcscRating::Insufficient);
}

TEST_CASE("cipher suites by OpenSSL name, as the guidelines' tables rate them") {
    struct Row {
        const char* name;
        NcscRating rating;
    };
    const Row rows[] = {
        {"TLS_AES_256_GCM_SHA384", NcscRating::Good},
        {"TLS_CHACHA20_POLY1305_SHA256", NcscRating::Good},
        {"ECDHE-RSA-AES128-GCM-SHA256", NcscRating::Good},
        {"ECDHE-RSA-AES256-SHA384", NcscRating::Sufficient},  // CBC
        {"DHE-RSA-AES256-GCM-SHA384", NcscRating::Sufficient},
        {"AES256-GCM-SHA384", NcscRating::PhaseOut},  // RSA key exchange
        {"DES-CBC3-SHA", NcscRating::PhaseOut},
        {"RC4-SHA", NcscRating::Insufficient},
        {"ECDHE-RSA-NULL-SHA", NcscRating::Insufficient},
        {"", NcscRating::Insufficient},
    };
    for (const Row& r : rows) {
        INFO(r.name);
        CHECK(rate_cipher(r.name) == r.rating);
    }
}

TEST_CASE("key exchange groups: curves good, large finite fields sufficient") {
    CHECK(rate_group("x25519") == NcscRating::Good);
    CHECK(rate_group("secp384r1") == NcscRating::Good);
    CHECK(rate_group("ffdhe3072") == NcscRating::Sufficient);
    CHECK(rate_group("ffdhe2048") == NcscRating::PhaseOut);
    CHECK(rate_group("ffdhe1024") == NcscRating::Insufficient);
    CHECK(to_string(NcscRating::PhaseOut) == "phase-out");
}
