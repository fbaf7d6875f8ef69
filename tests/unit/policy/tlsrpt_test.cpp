// tlsrpt (RFC 8460): our TLS failure reasons as result types, the policy a
// session falls under, the `_smtp._tls` record, and counting sessions.
#include <catch2/catch.hpp>

#include "policy/tlsrpt.hpp"

using namespace chainmail::policy;

namespace {

HostFacts host(std::string name, bool with_tlsa) {
    HostFacts h;
    h.name = std::move(name);
    if (with_tlsa) {
        h.tlsa.state = TlsaState::Secure;
        h.tlsa.records.push_back({3, 1, 1, std::vector<std::uint8_t>(32, 0xab)});
    }
    return h;
}

MxFacts mx(const HostFacts& h, DnsState state = DnsState::Secure) {
    MxFacts m;
    m.domain = "example.nl";
    m.state = state;
    m.hosts.push_back(h);
    return m;
}

MtaStsFacts sts(MtaStsFacts::Mode mode) {
    MtaStsFacts f;
    f.mode = mode;
    f.mx_patterns = {"mx.example.nl", "*.backup.example.nl"};
    f.max_age = 604800;
    return f;
}

Outcome outcome(Verdict v, Reason r = Reason::None, std::string detail = {}) {
    Outcome o;
    o.verdict = v;
    o.reason = r;
    o.detail = std::move(detail);
    return o;
}

}  // namespace

TEST_CASE("each TLS failure reason has its RFC 8460 result type", "[tlsrpt]") {
    struct Row {
        Reason reason;
        std::string detail;
        std::optional<TlsrptResult> want;
    };
    const std::vector<Row> table{
        {Reason::StartTlsNotOffered, "", TlsrptResult::StarttlsNotSupported},
        {Reason::StartTlsRefused, "", TlsrptResult::StarttlsNotSupported},
        {Reason::CertificateName, "", TlsrptResult::CertificateHostMismatch},
        {Reason::CertificateChain, "not issued by a trusted authority",
         TlsrptResult::CertificateNotTrusted},
        {Reason::CertificateChain, "certificate has expired", TlsrptResult::CertificateExpired},
        {Reason::HandshakeFailed, "", TlsrptResult::ValidationFailure},
        {Reason::TlsVersionTooLow, "", TlsrptResult::ValidationFailure},
        {Reason::FingerprintMismatch, "", TlsrptResult::ValidationFailure},
        {Reason::TlsaMismatch, "", TlsrptResult::ValidationFailure},
        {Reason::MtaStsMxMismatch, "", TlsrptResult::ValidationFailure},
        {Reason::NoUsableTlsa, "", TlsrptResult::DaneRequired},
        {Reason::NoDnssec, "", TlsrptResult::DaneRequired},
        {Reason::DnssecBogus, "", TlsrptResult::DnssecInvalid},
        // Not a TLS session (or not the domain's policy): not counted.
        {Reason::RequireTlsNotOffered, "", std::nullopt},
        {Reason::ConnectFailed, "", std::nullopt},
        {Reason::DnsTempFail, "", std::nullopt},
        {Reason::NoAddress, "", std::nullopt},
        {Reason::Unknown, "", std::nullopt},
        {Reason::None, "", std::nullopt},
    };
    for (const auto& row : table) {
        INFO(to_string(row.reason) << " / " << row.detail);
        CHECK(tlsrpt_result(row.reason, row.detail) == row.want);
    }
}

TEST_CASE("result and policy type names are the RFC's and parse back", "[tlsrpt]") {
    CHECK(to_string(TlsrptResult::StarttlsNotSupported) == "starttls-not-supported");
    CHECK(to_string(TlsrptResult::StsWebpkiInvalid) == "sts-webpki-invalid");
    CHECK(to_string(TlsrptPolicyType::NoPolicyFound) == "no-policy-found");
    for (auto r : {TlsrptResult::CertificateExpired, TlsrptResult::TlsaInvalid,
                   TlsrptResult::DaneRequired, TlsrptResult::StsPolicyInvalid})
        CHECK(parse_tlsrpt_result(to_string(r)) == r);
    CHECK_FALSE(parse_tlsrpt_result("tls-broken"));
}

TEST_CASE("DANE decides the policy type before MTA-STS (RFC 8461 §2)", "[tlsrpt]") {
    const auto dane_host = host("mx.example.nl", true);
    auto p = tlsrpt_policy("Example.NL", mx(dane_host), dane_host, sts(MtaStsFacts::Mode::Enforce),
                           true);
    CHECK(p.type == TlsrptPolicyType::Tlsa);
    CHECK(p.domain == "example.nl");
    REQUIRE(p.strings.size() == 1);
    CHECK(p.strings[0].rfind("3 1 1 ABAB", 0) == 0);
    CHECK(p.mx == std::vector<std::string>{"mx.example.nl"});

    // TLSA under an insecure MX answer do not count (RFC 7672 §2.2).
    p = tlsrpt_policy("example.nl", mx(dane_host, DnsState::Insecure), dane_host,
                      sts(MtaStsFacts::Mode::Enforce), true);
    CHECK(p.type == TlsrptPolicyType::Sts);
    CHECK(p.strings == std::vector<std::string>{"version: STSv1", "mode: enforce",
                                                "mx: mx.example.nl", "mx: *.backup.example.nl",
                                                "max_age: 604800"});
    CHECK(p.mx == std::vector<std::string>{"mx.example.nl", "*.backup.example.nl"});

    const auto plain = host("mx.example.nl", false);
    CHECK(
        tlsrpt_policy("example.nl", mx(plain), plain, sts(MtaStsFacts::Mode::Testing), true).type ==
        TlsrptPolicyType::Sts);
    // A partner with mta_sts: false, or no policy at all.
    CHECK(tlsrpt_policy("example.nl", mx(plain), plain, sts(MtaStsFacts::Mode::Enforce), false)
              .type == TlsrptPolicyType::NoPolicyFound);
    auto none = tlsrpt_policy("example.nl", mx(plain), plain, {}, true);
    CHECK(none.type == TlsrptPolicyType::NoPolicyFound);
    CHECK(none.strings.empty());
}

TEST_CASE("which sessions count, and as what", "[tlsrpt]") {
    const auto h = host("mx.example.nl", false);
    TlsrptPolicy sts_policy;
    sts_policy.type = TlsrptPolicyType::Sts;
    TlsrptPolicy none_policy;

    SECTION("a TLS delivery is a success") {
        auto s = tlsrpt_session(none_policy, h,
                                {outcome(Verdict::Deliver), true, true, true, "192.0.2.1"});
        REQUIRE(s);
        CHECK_FALSE(s->failure);
        CHECK(s->receiving_ip == "192.0.2.1");
    }
    SECTION("a plaintext delivery under `may` is starttls-not-supported") {
        auto s = tlsrpt_session(none_policy, h, {outcome(Verdict::Deliver), true, true, false, ""});
        REQUIRE(s);
        CHECK(s->failure == TlsrptResult::StarttlsNotSupported);
    }
    SECTION("tls: none never asked for STARTTLS: nothing to report") {
        CHECK_FALSE(
            tlsrpt_session(none_policy, h, {outcome(Verdict::Deliver), true, false, false, ""}));
    }
    SECTION("a refused certificate is a failure with our reason as the code") {
        auto s = tlsrpt_session(
            sts_policy, h,
            {outcome(Verdict::TlsFailure, Reason::CertificateName), true, true, true, ""});
        REQUIRE(s);
        CHECK(s->failure == TlsrptResult::CertificateHostMismatch);
        CHECK(s->reason_code == "certificate-name");
    }
    SECTION("the failed handshake before a plaintext retry counts once, as a failure") {
        auto s = tlsrpt_session(
            none_policy, h,
            {outcome(Verdict::RetryWithoutTls, Reason::HandshakeFailed), true, true, false, ""});
        REQUIRE(s);
        CHECK(s->failure == TlsrptResult::ValidationFailure);
    }
    SECTION("a connection that failed is no TLS session") {
        CHECK_FALSE(tlsrpt_session(
            none_policy, h,
            {outcome(Verdict::TempFail, Reason::ConnectFailed), true, true, false, ""}));
    }
    SECTION("under an STS testing policy what would have failed is reported") {
        Outcome o = outcome(Verdict::Deliver);
        o.would_fail = Reason::MtaStsMxMismatch;
        auto s = tlsrpt_session(sts_policy, h, {o, true, true, true, ""});
        REQUIRE(s);
        CHECK(s->failure == TlsrptResult::ValidationFailure);
        // Our own `mode: testing` is not the domain's policy: a success for it.
        auto n = tlsrpt_session(none_policy, h, {o, true, true, true, ""});
        REQUIRE(n);
        CHECK_FALSE(n->failure);
    }
}

TEST_CASE("a published MTA-STS policy that cannot be used is reported (RFC 8460 §4.3.2.3)",
          "[tlsrpt]") {
    using U = MtaStsFacts::Unusable;
    const auto h = host("mx.example.nl", false);
    const MxFacts m = mx(h);
    MtaStsFacts facts;  // mode none: no policy applies
    CHECK_FALSE(tlsrpt_sts_unusable(facts));
    const std::pair<U, TlsrptResult> rows[] = {
        {U::FetchError, TlsrptResult::StsPolicyFetchError},
        {U::Invalid, TlsrptResult::StsPolicyInvalid},
        {U::WebpkiInvalid, TlsrptResult::StsWebpkiInvalid},
    };
    for (const auto& [why, result] : rows) {
        facts.unusable = why;
        REQUIRE(tlsrpt_sts_unusable(facts) == result);
        const TlsrptPolicy p = tlsrpt_policy("Example.NL", m, h, facts, true);
        CHECK(p.type == TlsrptPolicyType::Sts);
        CHECK(p.strings.empty());  // §4.4: no policy-string without a policy
        // Whatever the delivery did, the session failed the published policy.
        TlsrptAttempt a{outcome(Verdict::Deliver), true, true, true, "192.0.2.1"};
        a.policy_unusable = tlsrpt_sts_unusable(facts);
        auto s = tlsrpt_session(p, h, a);
        REQUIRE(s);
        CHECK(s->failure == result);
        // A partner that does not use MTA-STS does not report on it.
        CHECK(tlsrpt_policy("example.nl", m, h, facts, false).type ==
              TlsrptPolicyType::NoPolicyFound);
    }
    SECTION("a policy in force is not unusable, even after a failed refetch") {
        facts.mode = MtaStsFacts::Mode::Enforce;
        facts.unusable = U::FetchError;
        CHECK_FALSE(tlsrpt_sts_unusable(facts));
    }
}

TEST_CASE("a period counts sessions per policy and groups failures", "[tlsrpt]") {
    TlsrptPeriod day;
    TlsrptSession ok;
    ok.policy.domain = "a.nl";
    TlsrptSession bad = ok;
    bad.failure = TlsrptResult::CertificateExpired;
    bad.mx_host = "mx.a.nl";
    bad.receiving_ip = "192.0.2.7";
    TlsrptSession other = ok;
    other.policy.domain = "b.nl";
    for (int i = 0; i < 3; ++i) day.add(ok);
    day.add(bad);
    day.add(bad);
    day.add(other);
    const auto& a = day.policies.at(ok.policy);
    CHECK(a.successful == 3);
    CHECK(a.failed == 2);
    REQUIRE(a.failures.size() == 1);
    CHECK(a.failures.begin()->second == 2);
    CHECK(day.domains() == std::vector<std::string>{"a.nl", "b.nl"});
}

TEST_CASE("report periods are UTC days", "[tlsrpt]") {
    // 2026-12-03T13:00:00Z
    CHECK(tlsrpt_period_of(1796302800, 86400) ==
          std::pair<std::int64_t, std::int64_t>{1796256000, 1796342400});
    CHECK(tlsrpt_period_of(1796256000, 86400).first == 1796256000);
    CHECK(tlsrpt_period_of(17, 5) == std::pair<std::int64_t, std::int64_t>{15, 20});
}

TEST_CASE("the _smtp._tls record (RFC 8460 §3)", "[tlsrpt]") {
    auto r =
        parse_tlsrpt_record({"v=TLSRPTv1; rua=mailto:tls@example.nl, https://r.example.nl/v1;"});
    CHECK(r.rua == std::vector<std::string>{"mailto:tls@example.nl", "https://r.example.nl/v1"});
    CHECK(parse_tlsrpt_record({"v=TLSRPTv1;rua=mailto:a@b.nl"}).rua.size() == 1);
    // Other TXT records at the name are ignored.
    CHECK(parse_tlsrpt_record({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@b.nl"}).rua.size() == 1);
    CHECK(parse_tlsrpt_record({}).error == "no v=TLSRPTv1 record");
    CHECK(parse_tlsrpt_record({"v=TLSRPTv1; rua=mailto:a@b.nl", "v=TLSRPTv1; rua=mailto:c@d.nl"})
              .error == "2 v=TLSRPTv1 records");
    CHECK(parse_tlsrpt_record({"v=TLSRPTv1;"}).error == "the record has no rua");
    CHECK(parse_tlsrpt_record({"v=TLSRPTv1; rua=ftp://x.nl/"}).error ==
          "rua names no mailto: or https: address");
    CHECK(parse_tlsrpt_record({"v=TLSRPTv10; rua=mailto:a@b.nl"}).rua.empty());
}

TEST_CASE("mailto: and https: report addresses", "[tlsrpt]") {
    CHECK(tlsrpt_mailto("mailto:tls-reports@example.nl") == "tls-reports@example.nl");
    CHECK(tlsrpt_mailto("MAILTO:tls%2Dr@example.nl?subject=x") == "tls-r@example.nl");
    CHECK_FALSE(tlsrpt_mailto("mailto:no-at-sign"));
    CHECK_FALSE(tlsrpt_mailto("mailto:a@b.nl,c@d.nl"));
    CHECK_FALSE(tlsrpt_mailto("https://x.nl/"));

    auto u = parse_https_uri("https://Reports.Example.nl:8443/tlsrpt?x=1");
    REQUIRE(u);
    CHECK(u->host == "reports.example.nl");
    CHECK(u->port == 8443);
    CHECK(u->target == "/tlsrpt?x=1");
    CHECK(parse_https_uri("https://r.example.nl")->target == "/");
    CHECK(parse_https_uri("https://r.example.nl")->port == 443);
    CHECK_FALSE(parse_https_uri("https://user@r.example.nl/"));
    CHECK_FALSE(parse_https_uri("https://r.example.nl:99999/"));
    CHECK_FALSE(parse_https_uri("http://r.example.nl/"));
}

TEST_CASE("our own report mail is recognised by its header", "[tlsrpt]") {
    CHECK(is_tlsrpt_mail("From: a@b.nl\r\nTLS-Report-Domain: example.nl\r\n\r\nbody\r\n"));
    CHECK(is_tlsrpt_mail("tls-report-domain: example.nl\n\n"));
    CHECK_FALSE(
        is_tlsrpt_mail("From: a@b.nl\r\nSubject: x\r\n\r\nTLS-Report-Domain: in the body\r\n"));
    CHECK_FALSE(is_tlsrpt_mail(""));
}
