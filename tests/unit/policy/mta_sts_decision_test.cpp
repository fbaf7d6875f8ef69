// MTA-STS in the TLS decision: an enforce policy raises may and encrypt to
// authenticated TLS; DANE and MTA-STS meet as RFC 8461 §2 says (DANE decides
// where usable TLSA exist, both ways); `authenticated` over each of its routes.
#include <catch2/catch.hpp>

#include "scenario.hpp"

using namespace chainmail::policy;
using chainmail::policy::test::Scenario;
using chainmail::policy::test::Tlsa;
using StsMode = MtaStsFacts::Mode;

namespace {

// A partner that honours MTA-STS, an insecure MX (so no DANE), and an
// enforce policy listing the MX: the happy path of MTA-STS.
Scenario sts(TlsLevel level, StsMode mode = StsMode::Enforce,
             std::vector<std::string> mx = {"*.example.nl"}) {
    Scenario s;
    s.level(level).mx_insecure().mta_sts(mode, std::move(mx));
    s.tls.dane = DaneAuthority::None;
    return s;
}

struct Row {
    const char* what;
    Scenario s;
    Verdict verdict;
    AuthLabel auth;  // for Deliver
    Reason reason;   // otherwise
};

constexpr auto D = Verdict::Deliver;
constexpr auto F = Verdict::TlsFailure;
constexpr auto T = Verdict::TempFail;
constexpr auto N0 = Reason::None;

}  // namespace

TEST_CASE("an MTA-STS enforce policy: each way an MX or its certificate fails") {
    const Row rows[] = {
        {"may, listed MX, valid certificate", sts(TlsLevel::May), D, AuthLabel::MtaSts, N0},
        {"encrypt, listed MX, valid certificate", sts(TlsLevel::Encrypt), D, AuthLabel::MtaSts, N0},
        {"dane without DANE, listed MX", sts(TlsLevel::Dane), D, AuthLabel::MtaSts, N0},
        {"exact pattern", sts(TlsLevel::May, StsMode::Enforce, {"mx1.example.nl"}), D,
         AuthLabel::MtaSts, N0},
        {"MX not listed", sts(TlsLevel::May, StsMode::Enforce, {"mail.other.nl"}), F,
         AuthLabel::Plaintext, Reason::MtaStsMxMismatch},
        {"wildcard one label too shallow",
         sts(TlsLevel::May, StsMode::Enforce, {"*.mx1.example.nl"}), F, AuthLabel::Plaintext,
         Reason::MtaStsMxMismatch},
        {"wildcard two labels deep", sts(TlsLevel::May, StsMode::Enforce, {"*.nl"}), F,
         AuthLabel::Plaintext, Reason::MtaStsMxMismatch},
        {"no STARTTLS", sts(TlsLevel::May).no_starttls(), F, AuthLabel::Plaintext,
         Reason::StartTlsNotOffered},
        {"handshake fails: no plaintext retry", sts(TlsLevel::May).handshake_fails(), F,
         AuthLabel::Plaintext, Reason::HandshakeFailed},
        {"untrusted chain", sts(TlsLevel::May).chain_bad(), F, AuthLabel::Plaintext,
         Reason::CertificateChain},
        {"certificate for another name", sts(TlsLevel::May).name_bad(), F, AuthLabel::Plaintext,
         Reason::CertificateName},
        {"TLS 1.1", sts(TlsLevel::Encrypt).version(TlsVersion::Tls11), F, AuthLabel::Plaintext,
         Reason::TlsVersionTooLow},
        {"testing policy, untrusted chain: delivered",
         sts(TlsLevel::May, StsMode::Testing).chain_bad(), D, AuthLabel::None, N0},
        {"policy with mode none changes nothing", sts(TlsLevel::May, StsMode::None).no_starttls(),
         D, AuthLabel::Plaintext, N0},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        const Outcome o = row.s.run();
        CHECK(to_string(o.verdict) == to_string(row.verdict));
        if (row.verdict == Verdict::Deliver)
            CHECK(to_string(o.auth) == to_string(row.auth));
        else
            CHECK(to_string(o.reason) == to_string(row.reason));
    }
}

TEST_CASE("an MTA-STS testing policy logs what would have failed") {
    const StsMode t = StsMode::Testing;
    struct Case {
        Scenario s;
        Reason would;
    };
    const Case cases[] = {
        {sts(TlsLevel::May, t).chain_bad(), Reason::CertificateChain},
        {sts(TlsLevel::May, t).name_bad(), Reason::CertificateName},
        {sts(TlsLevel::May, t, {"other.example.nl"}), Reason::MtaStsMxMismatch},
        {sts(TlsLevel::May, t).no_starttls(), Reason::StartTlsNotOffered},
    };
    for (const Case& c : cases) {
        INFO(to_string(c.would));
        const Outcome o = c.s.run();
        CHECK(o.verdict == Verdict::Deliver);
        REQUIRE(o.would_fail);
        CHECK(*o.would_fail == c.would);
    }
    // Nothing would fail: the log names MTA-STS as what authenticated the peer.
    const Outcome ok = sts(TlsLevel::May, t).run();
    CHECK(ok.auth == AuthLabel::MtaSts);
    CHECK_FALSE(ok.would_fail);
}

TEST_CASE("DANE and MTA-STS meet: DANE decides where usable TLSA exist (RFC 8461 section 2)") {
    // A DANE match delivers although the policy's patterns do not list the MX.
    for (TlsLevel level :
         {TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Dane, TlsLevel::Authenticated}) {
        INFO(to_string(level));
        Scenario s;
        s.level(level).mta_sts(StsMode::Enforce, {"mail.other.nl"});
        const Outcome o = s.run();
        CHECK(o.verdict == Verdict::Deliver);
        CHECK(o.auth == AuthLabel::DaneEe);
        CHECK(s.requirement().verify().auth == AuthMethod::Dane);
    }
    // A DANE mismatch is never rescued by a PKIX-valid certificate under the policy.
    for (TlsLevel level :
         {TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Dane, TlsLevel::Authenticated}) {
        INFO(to_string(level));
        Scenario s;
        s.level(level).mta_sts(StsMode::Enforce, {"*.example.nl"}).tlsa(Tlsa::WrongDigest);
        CHECK(s.tls.chain_ok);
        CHECK(s.tls.name_ok);
        const Outcome o = s.run();
        CHECK(o.verdict == Verdict::TlsFailure);
        CHECK(o.reason == Reason::TlsaMismatch);
    }
    // A testing policy beside usable TLSA is not consulted at all.
    Scenario t;
    t.level(TlsLevel::May).mta_sts(StsMode::Testing, {"mail.other.nl"});
    CHECK_FALSE(t.requirement().shadow);
    // A TLSA lookup that failed defers; the policy does not stand in for DANE.
    Scenario bogus;
    bogus.level(TlsLevel::May).mta_sts(StsMode::Enforce, {"*.example.nl"}).tlsa(Tlsa::Bogus);
    CHECK(bogus.run().verdict == Verdict::TempFail);
    CHECK(bogus.run().reason == Reason::DnssecBogus);
    // TLSA present but all unusable: DANE does not decide, so the policy does.
    Scenario unusable;
    unusable.mta_sts(StsMode::Enforce, {"*.example.nl"}).tlsa(Tlsa::Unusable);
    unusable.tls.dane = DaneAuthority::None;
    CHECK(unusable.run().auth == AuthLabel::MtaSts);
    // dane-only never consults MTA-STS.
    Scenario only = sts(TlsLevel::DaneOnly);
    CHECK(only.run().reason == Reason::NoDnssec);
}

TEST_CASE("levels that name their own proof do not consult MTA-STS") {
    for (TlsLevel level :
         {TlsLevel::None, TlsLevel::Fingerprint, TlsLevel::Verify, TlsLevel::Secure}) {
        INFO(to_string(level));
        Scenario s = sts(level, StsMode::Enforce, {"mail.other.nl"});
        const Outcome o = s.run();
        CHECK(o.verdict == Verdict::Deliver);
        CHECK(o.auth != AuthLabel::MtaSts);
    }
}

TEST_CASE("authenticated over each of its three routes, and refused when none applies") {
    // 1. DANE where usable TLSA exist.
    CHECK(Scenario{}.level(TlsLevel::Authenticated).run().auth == AuthLabel::DaneEe);
    // 2. Else an MTA-STS enforce policy (MX insecure, so no DANE and no route 3).
    CHECK(sts(TlsLevel::Authenticated).run().auth == AuthLabel::MtaSts);
    // 3. Else PKIX with the MX name, because the MX answer was DNSSEC-secure.
    Scenario pkix;
    pkix.level(TlsLevel::Authenticated).tlsa(Tlsa::Absent);
    pkix.tls.dane = DaneAuthority::None;
    CHECK(pkix.run().auth == AuthLabel::Pkix);
    CHECK(pkix.requirement().apply.check.names == std::vector<std::string>{"mx1.example.nl"});
    // None: insecure MX, no policy. The reason says what each route lacked.
    Scenario none;
    none.level(TlsLevel::Authenticated).mx_insecure();
    none.sts.note = "example.nl publishes no MTA-STS policy";
    const Outcome o = none.run();
    CHECK(o.verdict == Verdict::TlsFailure);
    CHECK(o.reason == Reason::NoDnssec);
    CHECK_THAT(o.detail,
               Catch::Contains("no DANE: the MX record of example.nl is not DNSSEC-secure"));
    CHECK_THAT(o.detail, Catch::Contains("no MTA-STS: example.nl publishes no MTA-STS policy"));
    CHECK_THAT(o.detail, Catch::Contains("no PKIX with the MX name"));
    // A testing policy, or a partner with mta_sts: false, is named as such.
    CHECK_THAT(sts(TlsLevel::Authenticated, StsMode::Testing).run().detail,
               Catch::Contains("is in testing mode"));
    Scenario off = sts(TlsLevel::Authenticated);
    off.partner.mta_sts = false;
    CHECK_THAT(off.run().detail, Catch::Contains("mta_sts: false"));
    // Each route is also refused when its own proof fails.
    CHECK(Scenario{}.level(TlsLevel::Authenticated).tlsa(Tlsa::WrongDigest).run().reason ==
          Reason::TlsaMismatch);
    CHECK(sts(TlsLevel::Authenticated).chain_bad().run().reason == Reason::CertificateChain);
    CHECK(pkix.name_bad().run().reason == Reason::CertificateName);
}
