// Where a policy Requirement meets the client: checks become the TLS
// client's requirements, what the session saw is what judge() decides on.
#include <catch2/catch.hpp>

#include "relay/deliver/host_session.hpp"

using namespace chainmail;

TEST_CASE("an MTA-STS check is PKIX against the policy's names", "[facts]") {
    policy::Check c;
    c.auth = policy::AuthMethod::MtaSts;
    c.names = {"mx.example.nl"};
    c.min_version = policy::TlsVersion::Tls12;
    const auto r = deliver::to_requirement(c, "mx.example.nl");
    CHECK(r.check.auth == policy::AuthMethod::MtaSts);
    CHECK(r.check.names == std::vector<std::string>{"mx.example.nl"});
    CHECK(r.check.min_version == policy::TlsVersion::Tls12);
    CHECK(r.ciphers == tls::CipherGrade::Ncsc);
    // RFC 8461 §4.2: set up as PKIX, so the two share a profile (and sessions).
    c.auth = policy::AuthMethod::Pkix;
    CHECK(tls::requirement_profile(deliver::to_requirement(c, "mx.example.nl")) ==
          tls::requirement_profile(r));
    // Without names, both verify the MX host name.
    c.names.clear();
    c.auth = policy::AuthMethod::MtaSts;
    CHECK(deliver::to_requirement(c, "mx.example.nl").check.names ==
          std::vector<std::string>{"mx.example.nl"});
}

TEST_CASE("a requirement without a policy check asks for TLS 1.2", "[facts]") {
    const tls::TlsRequirement r;
    CHECK(r.check.auth == policy::AuthMethod::None);
    CHECK(r.check.min_version == policy::TlsVersion::Tls12);
    CHECK(r.ciphers == tls::CipherGrade::Ncsc);
}

TEST_CASE("no minimum version means opportunistic ciphers", "[facts]") {
    const auto r = deliver::to_requirement(policy::Check{}, "mx.example.nl");
    CHECK(r.check.auth == policy::AuthMethod::None);
    CHECK(r.check.min_version == policy::TlsVersion::Unknown);  // TLS 1.0 in OpenSSL
    CHECK(r.ciphers == tls::CipherGrade::Opportunistic);
}

TEST_CASE("a DANE-EE session becomes policy facts", "[facts]") {
    deliver::SessionFacts s;
    s.greeting.code = 220;
    s.tls_up = true;
    s.extensions.requiretls = true;
    tls::TlsFacts t;
    t.version = policy::TlsVersion::Tls13;
    t.cipher = "TLS_AES_256_GCM_SHA384";
    t.result = tls::VerifyResult::Ok;
    t.auth = policy::AuthLabel::DaneEe;
    t.dane = policy::DaneAuthority::Ee;
    s.tls = t;
    const auto f = deliver::tls_facts_of(s);
    CHECK(f.connected);
    CHECK(f.starttls_offered);
    CHECK(f.handshake_ok);
    CHECK(f.version == policy::TlsVersion::Tls13);
    CHECK(f.dane == policy::DaneAuthority::Ee);
    CHECK(f.requiretls_offered);
}

TEST_CASE("a refused STARTTLS and a version failure are facts too", "[facts]") {
    deliver::SessionFacts s;
    s.greeting.code = 220;
    s.starttls_refused = true;
    auto f = deliver::tls_facts_of(s);
    CHECK(f.starttls_offered);
    CHECK_FALSE(f.starttls_accepted);
    s.starttls_refused = false;
    s.extensions.starttls = true;
    s.tls = tls::TlsFacts{};
    s.tls->result = tls::VerifyResult::VersionTooLow;
    f = deliver::tls_facts_of(s);
    CHECK(f.version_rejected);
    CHECK_FALSE(f.handshake_ok);
}
