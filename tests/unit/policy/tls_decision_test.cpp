// The TLS-level table of the product, row by row: each level meets the
// happy path with one thing changed, and must end as the table says.
#include <catch2/catch.hpp>

#include "policy/failure_table.hpp"
#include "scenario.hpp"

using namespace chainmail::policy;
using chainmail::policy::test::Scenario;
using chainmail::policy::test::Tlsa;

namespace {

enum class Change {
    Nothing,
    NoStarttls,
    HandshakeFails,
    ChainBad,
    NameBad,
    TlsaWrongDigest,
    TlsaUnusable,
    TlsaAbsent,
    TlsaInsecure,
    TlsaBogus,
    TlsaTempFail,
    MxInsecure,
    Tls11,
    WrongFingerprint,
};

const char* name(Change c) {
    switch (c) {
        case Change::Nothing:
            return "happy path";
        case Change::NoStarttls:
            return "STARTTLS not offered";
        case Change::HandshakeFails:
            return "handshake fails";
        case Change::ChainBad:
            return "chain does not verify";
        case Change::NameBad:
            return "name does not match";
        case Change::TlsaWrongDigest:
            return "TLSA does not match";
        case Change::TlsaUnusable:
            return "TLSA all unusable";
        case Change::TlsaAbsent:
            return "no TLSA (secure NODATA)";
        case Change::TlsaInsecure:
            return "TLSA zone insecure";
        case Change::TlsaBogus:
            return "TLSA bogus";
        case Change::TlsaTempFail:
            return "TLSA SERVFAIL";
        case Change::MxInsecure:
            return "MX insecure";
        case Change::Tls11:
            return "TLS 1.1 negotiated";
        case Change::WrongFingerprint:
            return "certificate not pinned";
    }
    return "?";
}

Scenario with(TlsLevel level, Change c) {
    Scenario s;
    s.level(level);
    switch (c) {
        case Change::Nothing:
            break;
        case Change::NoStarttls:
            s.no_starttls();
            break;
        case Change::HandshakeFails:
            s.handshake_fails();
            break;
        case Change::ChainBad:
            s.chain_bad();
            break;
        case Change::NameBad:
            s.name_bad();
            break;
        case Change::TlsaWrongDigest:
            s.tlsa(Tlsa::WrongDigest);
            break;
        case Change::TlsaUnusable:
            s.tlsa(Tlsa::Unusable);
            break;
        case Change::TlsaAbsent:
            s.tlsa(Tlsa::Absent);
            break;
        case Change::TlsaInsecure:
            s.tlsa(Tlsa::Insecure);
            break;
        case Change::TlsaBogus:
            s.tlsa(Tlsa::Bogus);
            break;
        case Change::TlsaTempFail:
            s.tlsa(Tlsa::TempFail);
            break;
        case Change::MxInsecure:
            s.mx_insecure();
            break;
        case Change::Tls11:
            s.version(TlsVersion::Tls11);
            break;
        case Change::WrongFingerprint:
            s.wrong_fingerprint();
            break;
    }
    return s;
}

struct Row {
    TlsLevel level;
    Change change;
    Verdict verdict;
    AuthLabel auth;  // for Deliver
    Reason reason;   // otherwise
};

constexpr auto D = Verdict::Deliver;
constexpr auto F = Verdict::TlsFailure;
constexpr auto T = Verdict::TempFail;
constexpr auto R = Verdict::RetryWithoutTls;
constexpr auto N0 = Reason::None;

// Every level against every single change. A level that requires TLS never
// delivers in plaintext; a TLSA lookup failure under DANE defers, never downgrades.
const Row kTable[] = {
    // none: never STARTTLS, whatever the facts
    {TlsLevel::None, Change::Nothing, D, AuthLabel::Plaintext, N0},
    {TlsLevel::None, Change::NoStarttls, D, AuthLabel::Plaintext, N0},
    {TlsLevel::None, Change::TlsaBogus, D, AuthLabel::Plaintext, N0},
    {TlsLevel::None, Change::MxInsecure, D, AuthLabel::Plaintext, N0},
    // may: TLS when offered, plaintext otherwise, nothing verified
    {TlsLevel::May, Change::Nothing, D, AuthLabel::None, N0},
    {TlsLevel::May, Change::NoStarttls, D, AuthLabel::Plaintext, N0},
    {TlsLevel::May, Change::HandshakeFails, R, AuthLabel::Plaintext, Reason::HandshakeFailed},
    {TlsLevel::May, Change::ChainBad, D, AuthLabel::None, N0},
    {TlsLevel::May, Change::NameBad, D, AuthLabel::None, N0},
    {TlsLevel::May, Change::TlsaWrongDigest, D, AuthLabel::None, N0},
    {TlsLevel::May, Change::TlsaBogus, D, AuthLabel::None, N0},
    {TlsLevel::May, Change::MxInsecure, D, AuthLabel::None, N0},
    {TlsLevel::May, Change::Tls11, D, AuthLabel::None, N0},
    // encrypt: STARTTLS required, nothing verified
    {TlsLevel::Encrypt, Change::Nothing, D, AuthLabel::None, N0},
    {TlsLevel::Encrypt, Change::NoStarttls, F, AuthLabel::Plaintext, Reason::StartTlsNotOffered},
    {TlsLevel::Encrypt, Change::HandshakeFails, F, AuthLabel::Plaintext, Reason::HandshakeFailed},
    {TlsLevel::Encrypt, Change::ChainBad, D, AuthLabel::None, N0},
    {TlsLevel::Encrypt, Change::NameBad, D, AuthLabel::None, N0},
    {TlsLevel::Encrypt, Change::TlsaWrongDigest, D, AuthLabel::None, N0},
    {TlsLevel::Encrypt, Change::TlsaBogus, D, AuthLabel::None, N0},
    {TlsLevel::Encrypt, Change::MxInsecure, D, AuthLabel::None, N0},
    {TlsLevel::Encrypt, Change::Tls11, F, AuthLabel::Plaintext, Reason::TlsVersionTooLow},
    // fingerprint: the pinned digest decides
    {TlsLevel::Fingerprint, Change::Nothing, D, AuthLabel::Fingerprint, N0},
    {TlsLevel::Fingerprint, Change::NoStarttls, F, AuthLabel::Plaintext,
     Reason::StartTlsNotOffered},
    {TlsLevel::Fingerprint, Change::HandshakeFails, F, AuthLabel::Plaintext,
     Reason::HandshakeFailed},
    {TlsLevel::Fingerprint, Change::ChainBad, D, AuthLabel::Fingerprint, N0},
    {TlsLevel::Fingerprint, Change::NameBad, D, AuthLabel::Fingerprint, N0},
    {TlsLevel::Fingerprint, Change::WrongFingerprint, F, AuthLabel::Plaintext,
     Reason::FingerprintMismatch},
    {TlsLevel::Fingerprint, Change::MxInsecure, D, AuthLabel::Fingerprint, N0},
    {TlsLevel::Fingerprint, Change::Tls11, F, AuthLabel::Plaintext, Reason::TlsVersionTooLow},
    // verify: PKIX with the MX host name
    {TlsLevel::Verify, Change::Nothing, D, AuthLabel::Pkix, N0},
    {TlsLevel::Verify, Change::NoStarttls, F, AuthLabel::Plaintext, Reason::StartTlsNotOffered},
    {TlsLevel::Verify, Change::HandshakeFails, F, AuthLabel::Plaintext, Reason::HandshakeFailed},
    {TlsLevel::Verify, Change::ChainBad, F, AuthLabel::Plaintext, Reason::CertificateChain},
    {TlsLevel::Verify, Change::NameBad, F, AuthLabel::Plaintext, Reason::CertificateName},
    {TlsLevel::Verify, Change::TlsaWrongDigest, D, AuthLabel::Pkix, N0},
    {TlsLevel::Verify, Change::MxInsecure, D, AuthLabel::Pkix, N0},
    {TlsLevel::Verify, Change::Tls11, F, AuthLabel::Plaintext, Reason::TlsVersionTooLow},
    // secure: PKIX with the `match` names
    {TlsLevel::Secure, Change::Nothing, D, AuthLabel::Pkix, N0},
    {TlsLevel::Secure, Change::NoStarttls, F, AuthLabel::Plaintext, Reason::StartTlsNotOffered},
    {TlsLevel::Secure, Change::HandshakeFails, F, AuthLabel::Plaintext, Reason::HandshakeFailed},
    {TlsLevel::Secure, Change::ChainBad, F, AuthLabel::Plaintext, Reason::CertificateChain},
    {TlsLevel::Secure, Change::NameBad, F, AuthLabel::Plaintext, Reason::CertificateName},
    {TlsLevel::Secure, Change::TlsaBogus, D, AuthLabel::Pkix, N0},
    {TlsLevel::Secure, Change::MxInsecure, D, AuthLabel::Pkix, N0},
    // dane: DANE where usable secure TLSA exist, encrypt if all unusable, else may
    {TlsLevel::Dane, Change::Nothing, D, AuthLabel::DaneEe, N0},
    {TlsLevel::Dane, Change::NoStarttls, F, AuthLabel::Plaintext, Reason::StartTlsNotOffered},
    {TlsLevel::Dane, Change::HandshakeFails, F, AuthLabel::Plaintext, Reason::HandshakeFailed},
    {TlsLevel::Dane, Change::ChainBad, D, AuthLabel::DaneEe, N0},  // DANE-EE: no PKIX
    {TlsLevel::Dane, Change::NameBad, D, AuthLabel::DaneEe, N0},   // DANE-EE: no name check
    {TlsLevel::Dane, Change::TlsaWrongDigest, F, AuthLabel::Plaintext, Reason::TlsaMismatch},
    {TlsLevel::Dane, Change::TlsaUnusable, D, AuthLabel::None, N0},
    {TlsLevel::Dane, Change::TlsaAbsent, D, AuthLabel::None, N0},
    {TlsLevel::Dane, Change::TlsaInsecure, D, AuthLabel::None, N0},
    {TlsLevel::Dane, Change::TlsaBogus, T, AuthLabel::Plaintext, Reason::DnssecBogus},
    {TlsLevel::Dane, Change::TlsaTempFail, T, AuthLabel::Plaintext, Reason::DnsTempFail},
    {TlsLevel::Dane, Change::MxInsecure, D, AuthLabel::None, N0},
    {TlsLevel::Dane, Change::Tls11, F, AuthLabel::Plaintext, Reason::TlsVersionTooLow},
    // dane-only: usable DNSSEC-valid TLSA or nothing
    {TlsLevel::DaneOnly, Change::Nothing, D, AuthLabel::DaneEe, N0},
    {TlsLevel::DaneOnly, Change::NoStarttls, F, AuthLabel::Plaintext, Reason::StartTlsNotOffered},
    {TlsLevel::DaneOnly, Change::HandshakeFails, F, AuthLabel::Plaintext, Reason::HandshakeFailed},
    {TlsLevel::DaneOnly, Change::ChainBad, D, AuthLabel::DaneEe, N0},
    {TlsLevel::DaneOnly, Change::NameBad, D, AuthLabel::DaneEe, N0},
    {TlsLevel::DaneOnly, Change::TlsaWrongDigest, F, AuthLabel::Plaintext, Reason::TlsaMismatch},
    {TlsLevel::DaneOnly, Change::TlsaUnusable, F, AuthLabel::Plaintext, Reason::NoUsableTlsa},
    {TlsLevel::DaneOnly, Change::TlsaAbsent, F, AuthLabel::Plaintext, Reason::NoUsableTlsa},
    {TlsLevel::DaneOnly, Change::TlsaInsecure, F, AuthLabel::Plaintext, Reason::NoUsableTlsa},
    {TlsLevel::DaneOnly, Change::TlsaBogus, T, AuthLabel::Plaintext, Reason::DnssecBogus},
    {TlsLevel::DaneOnly, Change::TlsaTempFail, T, AuthLabel::Plaintext, Reason::DnsTempFail},
    {TlsLevel::DaneOnly, Change::MxInsecure, F, AuthLabel::Plaintext, Reason::NoDnssec},
    {TlsLevel::DaneOnly, Change::Tls11, F, AuthLabel::Plaintext, Reason::TlsVersionTooLow},
    // authenticated: DANE, else MTA-STS enforce, else PKIX if the MX is secure
    {TlsLevel::Authenticated, Change::Nothing, D, AuthLabel::DaneEe, N0},
    {TlsLevel::Authenticated, Change::NoStarttls, F, AuthLabel::Plaintext,
     Reason::StartTlsNotOffered},
    {TlsLevel::Authenticated, Change::HandshakeFails, F, AuthLabel::Plaintext,
     Reason::HandshakeFailed},
    {TlsLevel::Authenticated, Change::TlsaWrongDigest, F, AuthLabel::Plaintext,
     Reason::TlsaMismatch},
    {TlsLevel::Authenticated, Change::TlsaUnusable, D, AuthLabel::Pkix, N0},
    {TlsLevel::Authenticated, Change::TlsaAbsent, D, AuthLabel::Pkix, N0},
    {TlsLevel::Authenticated, Change::TlsaInsecure, D, AuthLabel::Pkix, N0},
    {TlsLevel::Authenticated, Change::TlsaBogus, T, AuthLabel::Plaintext, Reason::DnssecBogus},
    {TlsLevel::Authenticated, Change::TlsaTempFail, T, AuthLabel::Plaintext, Reason::DnsTempFail},
    {TlsLevel::Authenticated, Change::MxInsecure, F, AuthLabel::Plaintext, Reason::NoDnssec},
    {TlsLevel::Authenticated, Change::Tls11, F, AuthLabel::Plaintext, Reason::TlsVersionTooLow},
};

}  // namespace

TEST_CASE("every level meets every single change as the TLS-level table says") {
    for (const Row& row : kTable) {
        INFO("level " << to_string(row.level) << ", " << name(row.change));
        const Outcome o = with(row.level, row.change).run();
        CHECK(to_string(o.verdict) == to_string(row.verdict));
        if (row.verdict == Verdict::Deliver) {
            CHECK(to_string(o.auth) == to_string(row.auth));
        } else {
            CHECK(to_string(o.reason) == to_string(row.reason));
        }
        CHECK_FALSE(o.would_fail);
    }
}

TEST_CASE("a level that requires TLS never delivers in plaintext, whatever the facts") {
    const TlsLevel strict[] = {TlsLevel::Encrypt, TlsLevel::Fingerprint, TlsLevel::Verify,
                               TlsLevel::Secure,  TlsLevel::DaneOnly,    TlsLevel::Authenticated};
    for (TlsLevel level : strict)
        for (int c = 0; c <= static_cast<int>(Change::WrongFingerprint); ++c) {
            INFO(to_string(level) << ", " << name(static_cast<Change>(c)));
            const Outcome o = with(level, static_cast<Change>(c)).run();
            CHECK(o.verdict != Verdict::RetryWithoutTls);
            if (o.verdict == Verdict::Deliver) CHECK(o.auth != AuthLabel::Plaintext);
        }
}

TEST_CASE("dane with unusable TLSA records still requires STARTTLS (RFC 7672 section 2.2)") {
    auto o = Scenario{}.tlsa(Tlsa::Unusable).no_starttls().run();
    CHECK(o.verdict == Verdict::TlsFailure);
    CHECK(o.reason == Reason::StartTlsNotOffered);
    // Without any TLSA the same server gets the message in plaintext.
    CHECK(Scenario{}.tlsa(Tlsa::Absent).no_starttls().run().auth == AuthLabel::Plaintext);
}

TEST_CASE("DANE-TA requires a name match, DANE-EE does not") {
    Scenario ta;
    ta.host().tlsa.records = {TlsaRecord{2, 0, 1, std::vector<std::uint8_t>(32, 0x22)}};
    ta.tls.dane = DaneAuthority::Ta;
    CHECK(ta.run().auth == AuthLabel::DaneTa);
    ta.name_bad();
    CHECK(ta.run().reason == Reason::CertificateName);

    const Requirement req = Scenario{}.requirement();
    CHECK(req.apply.check.auth == AuthMethod::Dane);
    CHECK(req.apply.check.names == std::vector<std::string>{"mx1.example.nl", "example.nl"});
    REQUIRE(req.apply.check.tlsa.size() == 1);
    CHECK(req.apply.check.min_version == TlsVersion::Tls12);
}

TEST_CASE("only usable TLSA records reach the TLS client") {
    Scenario s;
    s.host().tlsa.records.push_back(TlsaRecord{1, 1, 1, std::vector<std::uint8_t>(32, 1)});
    s.host().tlsa.records.push_back(TlsaRecord{3, 1, 1, std::vector<std::uint8_t>(31, 1)});
    CHECK(s.requirement().apply.check.tlsa.size() == 1);
}

TEST_CASE("TLSA records from an insecure MX answer are ignored (RFC 7672 section 2.2)") {
    Scenario s;
    s.mx.state = DnsState::Insecure;  // even if a resolver handed TLSA up
    const Requirement req = s.level(TlsLevel::DaneOnly).requirement();
    CHECK(req.apply.gate == Gate::TlsFailure);
    CHECK(req.apply.reason == Reason::NoDnssec);
}

TEST_CASE("secure matches the next-hop domain and its subdomains unless `match` says otherwise") {
    auto req = Scenario{}.level(TlsLevel::Secure).requirement();
    CHECK(req.apply.check.names == std::vector<std::string>{"example.nl", ".example.nl"});
    Scenario s;
    s.level(TlsLevel::Secure).partner.match = {"partner-mail.nl"};
    CHECK(s.requirement().apply.check.names == std::vector<std::string>{"partner-mail.nl"});
    CHECK(Scenario{}.level(TlsLevel::Verify).requirement().apply.check.names ==
          std::vector<std::string>{"mx1.example.nl"});
}

TEST_CASE("tls_min_version raises the minimum") {
    Scenario s;
    s.level(TlsLevel::Encrypt).partner.tls_min_version = "1.3";
    s.version(TlsVersion::Tls12);
    CHECK(s.run().reason == Reason::TlsVersionTooLow);
    CHECK(s.version(TlsVersion::Tls13).run().verdict == Verdict::Deliver);
    // A server that refuses our minimum during the handshake is "version too low" too.
    Scenario old;
    old.level(TlsLevel::Encrypt).handshake_fails().tls.version_rejected = true;
    CHECK(old.run().reason == Reason::TlsVersionTooLow);
}

TEST_CASE("authenticated uses an MTA-STS enforce policy where no DANE applies") {
    auto o = Scenario{}
                 .level(TlsLevel::Authenticated)
                 .mx_insecure()
                 .mta_sts(MtaStsFacts::Mode::Enforce, {"*.example.nl"})
                 .run();
    CHECK(o.verdict == Verdict::Deliver);
    CHECK(o.auth == AuthLabel::MtaSts);

    o = Scenario{}
            .level(TlsLevel::Authenticated)
            .mx_insecure()
            .mta_sts(MtaStsFacts::Mode::Enforce, {"mail.other.nl"})
            .run();
    CHECK(o.reason == Reason::MtaStsMxMismatch);

    o = Scenario{}
            .level(TlsLevel::Authenticated)
            .mx_insecure()
            .mta_sts(MtaStsFacts::Mode::Enforce, {"*.example.nl"})
            .chain_bad()
            .run();
    CHECK(o.reason == Reason::CertificateChain);
    // A testing policy does not authenticate anything.
    o = Scenario{}
            .level(TlsLevel::Authenticated)
            .mx_insecure()
            .mta_sts(MtaStsFacts::Mode::Testing, {"*.example.nl"})
            .run();
    CHECK(o.reason == Reason::NoDnssec);
}

TEST_CASE("an MTA-STS enforce policy turns dane-without-TLSA and may into secure for the MX") {
    auto o = Scenario{}.mx_insecure().mta_sts(MtaStsFacts::Mode::Enforce, {"mx1.example.nl"}).run();
    CHECK(o.auth == AuthLabel::MtaSts);
    o = Scenario{}
            .level(TlsLevel::May)
            .mx_insecure()
            .mta_sts(MtaStsFacts::Mode::Enforce, {"mx1.example.nl"})
            .no_starttls()
            .run();
    CHECK(o.reason == Reason::StartTlsNotOffered);
    // With mta_sts: false the partner ignores the policy.
    Scenario off;
    off.mx_insecure().mta_sts(MtaStsFacts::Mode::Enforce, {"x.other.nl"}).partner.mta_sts = false;
    CHECK(off.run().auth == AuthLabel::None);
    // DANE wins over MTA-STS.
    CHECK(Scenario{}.mta_sts(MtaStsFacts::Mode::Enforce, {"x.other.nl"}).run().auth ==
          AuthLabel::DaneEe);
}

TEST_CASE("an MTA-STS testing policy delivers and records what would fail") {
    auto o = Scenario{}
                 .mx_insecure()
                 .mta_sts(MtaStsFacts::Mode::Testing, {"mx1.example.nl"})
                 .chain_bad()
                 .run();
    CHECK(o.verdict == Verdict::Deliver);
    REQUIRE(o.would_fail);
    CHECK(*o.would_fail == Reason::CertificateChain);
}

TEST_CASE("mode testing delivers as may and records what the configured level would refuse") {
    auto o = Scenario{}.level(TlsLevel::DaneOnly).testing().tlsa(Tlsa::Absent).run();
    CHECK(o.verdict == Verdict::Deliver);
    REQUIRE(o.would_fail);
    CHECK(*o.would_fail == Reason::NoUsableTlsa);

    o = Scenario{}.level(TlsLevel::Encrypt).testing().no_starttls().run();
    CHECK(o.verdict == Verdict::Deliver);
    CHECK(o.auth == AuthLabel::Plaintext);
    CHECK(o.would_fail == Reason::StartTlsNotOffered);

    o = Scenario{}.level(TlsLevel::Dane).testing().tlsa(Tlsa::WrongDigest).run();
    CHECK(o.verdict == Verdict::Deliver);
    CHECK(o.would_fail == Reason::TlsaMismatch);

    o = Scenario{}.level(TlsLevel::Dane).testing().tlsa(Tlsa::Bogus).run();
    CHECK(o.verdict == Verdict::Deliver);
    CHECK(o.would_fail == Reason::DnssecBogus);

    // Nothing would fail: the log names what authenticated the peer.
    o = Scenario{}.level(TlsLevel::DaneOnly).testing().run();
    CHECK(o.auth == AuthLabel::DaneEe);
    CHECK_FALSE(o.would_fail);
    // The TLS client verifies what the configured level asks for.
    CHECK(Scenario{}.level(TlsLevel::DaneOnly).testing().requirement().verify().auth ==
          AuthMethod::Dane);
}

TEST_CASE("may falls back to plaintext on a new connection after a failed handshake") {
    Scenario s;
    s.level(TlsLevel::May).handshake_fails();
    const Requirement req = s.requirement();
    CHECK(judge(req, s.tls).verdict == Verdict::RetryWithoutTls);
    const Requirement again = plaintext_retry(req);
    CHECK(again.apply.starttls == Starttls::Never);
    CHECK(judge(again, s.tls).auth == AuthLabel::Plaintext);
}

TEST_CASE("the destination: null MX bounces, DNS failures defer") {
    Scenario s;
    s.mx.null_mx = true;
    s.mx.hosts.clear();
    auto o = s.run();
    CHECK(o.verdict == Verdict::PermFail);
    CHECK(enhanced_status(o.reason, true) == "5.1.10");

    s = Scenario{};
    s.mx.state = DnsState::Bogus;
    CHECK(s.run().reason == Reason::DnssecBogus);
    CHECK(s.run().verdict == Verdict::TempFail);
    s.mx.state = DnsState::TempFail;
    CHECK(s.run().verdict == Verdict::TempFail);

    s = Scenario{};
    s.mx.state = DnsState::NotFound;
    s.mx.hosts.clear();
    CHECK(s.run().reason == Reason::NoSuchDomain);

    s = Scenario{};
    s.host().address = DnsState::Bogus;
    CHECK(s.level(TlsLevel::May).run().verdict == Verdict::TempFail);
    s.host().address = DnsState::TempFail;
    CHECK(s.run().reason == Reason::DnsTempFail);
}

TEST_CASE("a configured [host] next hop is a trusted name: DANE and authenticated apply") {
    Scenario s;
    s.mx.source = HostSource::NextHop;
    s.mx.state = DnsState::NotFound;  // no MX lookup was made
    CHECK(s.level(TlsLevel::DaneOnly).run().auth == AuthLabel::DaneEe);
    s.tlsa(Tlsa::Absent);
    CHECK(s.level(TlsLevel::Authenticated).run().auth == AuthLabel::Pkix);
    s.host().address = DnsState::Insecure;  // RFC 7672 §2.2.2: no DANE for insecure addresses
    s.host().tlsa = TlsaFacts{};
    CHECK(s.level(TlsLevel::DaneOnly).run().reason == Reason::NoDnssec);
}

TEST_CASE("REQUIRETLS needs an authenticated peer that offers REQUIRETLS (RFC 8689)") {
    Scenario s;
    s.level(TlsLevel::Authenticated).requiretls = true;
    CHECK(s.run().reason == Reason::RequireTlsNotOffered);
    CHECK(enhanced_status(Reason::RequireTlsNotOffered, true) == "5.7.30");
    s.tls.requiretls_offered = true;
    CHECK(s.run().verdict == Verdict::Deliver);
}

TEST_CASE("REQUIRETLS failures name REQUIRETLS, not DNSSEC (5.7.30)") {
    struct Row {
        const char* what;
        TlsLevel level;
        bool mx_insecure;
        bool requiretls_offered;
        Verdict verdict;
        Reason reason;
    };
    const Row rows[] = {
        // no route to authentication: refused before connecting, as REQUIRETLS
        {"insecure MX, authenticated", TlsLevel::Authenticated, true, true, Verdict::TlsFailure,
         Reason::RequireTlsUnauthenticated},
        {"insecure MX, dane-only", TlsLevel::DaneOnly, true, true, Verdict::TlsFailure,
         Reason::RequireTlsUnauthenticated},
        // only encryption: not enough for REQUIRETLS
        {"encrypt", TlsLevel::Encrypt, false, true, Verdict::TlsFailure,
         Reason::RequireTlsUnauthenticated},
        {"may", TlsLevel::May, false, true, Verdict::TlsFailure, Reason::RequireTlsUnauthenticated},
        // authenticated, but the next hop cannot carry REQUIRETLS on
        {"no REQUIRETLS at the hop", TlsLevel::Authenticated, false, false, Verdict::TlsFailure,
         Reason::RequireTlsNotOffered},
        {"authenticated and offered", TlsLevel::Authenticated, false, true, Verdict::Deliver,
         Reason::None},
    };
    for (const Row& r : rows) {
        INFO(r.what);
        Scenario s;
        s.level(r.level).requiretls = true;
        if (r.mx_insecure) s.mx_insecure();
        if (r.level == TlsLevel::Encrypt || r.level == TlsLevel::May) s.tlsa(Tlsa::Absent);
        s.tls.requiretls_offered = r.requiretls_offered;
        const Outcome o = s.run();
        CHECK(o.verdict == r.verdict);
        CHECK(o.reason == r.reason);
        if (o.reason == Reason::RequireTlsUnauthenticated)
            CHECK(o.detail.find("REQUIRETLS") != std::string::npos);
    }
    CHECK(enhanced_status(Reason::RequireTlsUnauthenticated, true) == "5.7.30");
    CHECK(is_tls_failure(Reason::RequireTlsUnauthenticated));
    // Without REQUIRETLS the same insecure MX is the DNSSEC reason it always was.
    Scenario plain;
    plain.level(TlsLevel::Authenticated).mx_insecure();
    CHECK(plain.run().reason == Reason::NoDnssec);
}

TEST_CASE("unknown facts are temporary, never a bounce") {
    Scenario s;
    s.host().tlsa.state = TlsaState::NotApplicable;  // secure host, TLSA never looked up
    CHECK(s.run().verdict == Verdict::TempFail);
    Scenario v;
    v.level(TlsLevel::Encrypt).version(TlsVersion::Unknown);
    CHECK(v.run().verdict == Verdict::TempFail);
    Scenario c;
    c.tls.connected = false;
    CHECK(c.run().verdict == Verdict::TempFail);
}
