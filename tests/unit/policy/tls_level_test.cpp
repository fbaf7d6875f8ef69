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
