#include <catch2/catch.hpp>

#include "policy/probe_verdict.hpp"

using namespace chainmail::policy;

namespace {

Outcome outcome(Verdict v, Reason r = Reason::None, AuthLabel a = AuthLabel::Plaintext) {
    Outcome o;
    o.verdict = v;
    o.reason = r;
    o.auth = a;
    o.detail = "detail";
    return o;
}

}  // namespace

TEST_CASE("probe: the first host that delivers decides, as in a delivery attempt") {
    const auto v =
        level_verdict(TlsLevel::DaneOnly, std::nullopt,
                      {{"mx1", outcome(Verdict::TlsFailure, Reason::TlsaMismatch)},
                       {"mx2", outcome(Verdict::Deliver, Reason::None, AuthLabel::DaneEe)}});
    CHECK(v.verdict == ProbeVerdict::Deliver);
    CHECK(v.auth == AuthLabel::DaneEe);
    CHECK(v.host == "mx2");
    CHECK(v.reason_text == "mx2: authenticated by a DANE-EE TLSA record");
}

TEST_CASE("probe: a TLS failure is final only when every host was really tried") {
    const auto fail =
        level_verdict(TlsLevel::Encrypt, std::nullopt,
                      {{"mx1", outcome(Verdict::TlsFailure, Reason::StartTlsNotOffered)}});
    CHECK(fail.verdict == ProbeVerdict::Fail);
    CHECK(fail.reason == Reason::StartTlsNotOffered);
    const auto defer =
        level_verdict(TlsLevel::Encrypt, std::nullopt,
                      {{"mx1", outcome(Verdict::TempFail, Reason::ConnectFailed)},
                       {"mx2", outcome(Verdict::TlsFailure, Reason::StartTlsNotOffered)}});
    CHECK(defer.verdict == ProbeVerdict::Defer);
    CHECK(defer.host == "mx2");
}

TEST_CASE("probe: destination problems decide every level") {
    CHECK(level_verdict(TlsLevel::May, outcome(Verdict::PermFail, Reason::NullMx), {}).verdict ==
          ProbeVerdict::Fail);
    CHECK(
        level_verdict(TlsLevel::May, outcome(Verdict::TempFail, Reason::DnssecBogus), {}).verdict ==
        ProbeVerdict::Defer);
    CHECK(level_verdict(TlsLevel::May, std::nullopt, {}).verdict == ProbeVerdict::Defer);
}

TEST_CASE("probe: the strongest level that delivers, by what it proves") {
    std::vector<LevelVerdict> v(3);
    v[0].level = TlsLevel::Dane;
    v[0].verdict = ProbeVerdict::Deliver;  // may deliver in plaintext: weak
    v[1].level = TlsLevel::Verify;
    v[1].verdict = ProbeVerdict::Deliver;
    v[2].level = TlsLevel::DaneOnly;
    v[2].verdict = ProbeVerdict::Fail;
    CHECK(strongest(v) == TlsLevel::Verify);
    v[1].verdict = ProbeVerdict::Defer;
    CHECK(strongest(v) == TlsLevel::Dane);
    v[0].verdict = ProbeVerdict::Fail;
    CHECK_FALSE(strongest(v).has_value());
    CHECK(strength(TlsLevel::DaneOnly) > strength(TlsLevel::Authenticated));
}
