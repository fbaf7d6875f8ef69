// The one fingerprint matcher (the `fingerprint` level): the TLS client's
// verification and judge() both ask policy::pinned().
#include <catch2/catch.hpp>

#include "policy/outcome.hpp"
#include "policy/tls_facts.hpp"

using namespace chainmail::policy;

namespace {

Sha256 digest(std::uint8_t b) {
    Sha256 d{};
    d.fill(b);
    return d;
}

}  // namespace

TEST_CASE("a pinned digest matches the certificate or its public key", "[fingerprint]") {
    const Sha256 cert = digest(0xc1);
    const Sha256 key = digest(0x5b);
    struct Row {
        const char* what;
        std::vector<Sha256> pins;
        std::optional<Sha256> cert, key;
        bool expected;
    };
    const Row rows[] = {
        {"certificate digest", {cert}, cert, key, true},
        {"public-key digest", {key}, cert, key, true},
        {"public-key digest among others", {digest(0x01), key}, cert, key, true},
        {"certificate digest among others", {digest(0x01), digest(0x02), cert}, cert, key, true},
        {"no digest matches", {digest(0x01)}, cert, key, false},
        {"nothing pinned", {}, cert, key, false},
        {"no certificate seen", {cert, key}, std::nullopt, std::nullopt, false},
        {"only the key seen", {key}, std::nullopt, key, true},
        {"a certificate pin never matches the key's digest", {cert}, std::nullopt, key, false},
    };
    for (const Row& r : rows) {
        INFO(r.what);
        CHECK(pinned(r.pins, r.cert, r.key) == r.expected);
    }
}

// The TLS client reports in these types; the delivery log and `chainmail
// probe` print them with these names.
TEST_CASE("labels as the delivery log writes them", "[labels]") {
    CHECK(to_string(AuthLabel::DaneEe) == "dane-ee");
    CHECK(to_string(AuthLabel::DaneTa) == "dane-ta");
    CHECK(to_string(AuthLabel::Pkix) == "pkix");
    CHECK(to_string(AuthLabel::Fingerprint) == "fingerprint");
    CHECK(to_string(AuthLabel::None) == "none");
}

TEST_CASE("versions by OpenSSL's names, oldest first", "[labels]") {
    CHECK(to_string(TlsVersion::Tls13) == "TLSv1.3");
    CHECK(to_string(TlsVersion::Tls12) == "TLSv1.2");
    CHECK(to_string(TlsVersion::Tls11) == "TLSv1.1");
    CHECK(to_string(TlsVersion::Tls10) == "TLSv1");
    CHECK(to_string(TlsVersion::Ssl3) == "SSLv3");
    CHECK(TlsVersion::Ssl3 < TlsVersion::Tls10);
    CHECK(TlsVersion::Tls10 < TlsVersion::Tls11);
    CHECK(TlsVersion::Tls12 < TlsVersion::Tls13);
}
