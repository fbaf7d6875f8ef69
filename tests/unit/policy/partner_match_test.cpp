#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "policy/partner_match.hpp"

using namespace chainmail;
using namespace chainmail::policy;

namespace {

config::Config sample() {
    config::Config c;
    c.defaults.name = "defaults";
    c.defaults.tls = TlsLevel::Dane;
    config::Partner west;
    west.name = "ziekenhuis-west";
    west.domains = {"ziekenhuis-west.nl", ".ziekenhuis-west.nl"};
    west.tls = TlsLevel::DaneOnly;
    config::Partner lab;
    lab.name = "lab-west";
    lab.domains = {".lab.ziekenhuis-west.nl"};
    lab.tls = TlsLevel::Fingerprint;
    config::Partner exact;
    exact.name = "mail-lab";
    exact.domains = {"mail.lab.ziekenhuis-west.nl"};
    exact.tls = TlsLevel::Verify;
    c.partners = {west, lab, exact};
    return c;
}

}  // namespace

TEST_CASE("a recipient domain finds its partner rule, and says why") {
    const config::Config c = sample();
    struct Row {
        const char* domain;
        const char* partner;
        const char* rule;
    };
    const Row rows[] = {
        {"ziekenhuis-west.nl", "ziekenhuis-west", "ziekenhuis-west.nl"},
        {"ZiekenHuis-West.NL.", "ziekenhuis-west", "ziekenhuis-west.nl"},  // case, trailing dot
        {"afd.ziekenhuis-west.nl", "ziekenhuis-west", ".ziekenhuis-west.nl"},
        {"a.b.ziekenhuis-west.nl", "ziekenhuis-west", ".ziekenhuis-west.nl"},
        {"lab.ziekenhuis-west.nl", "ziekenhuis-west", ".ziekenhuis-west.nl"},  // ".x" excludes x
        {"x.lab.ziekenhuis-west.nl", "lab-west", ".lab.ziekenhuis-west.nl"},   // longest wins
        {"mail.lab.ziekenhuis-west.nl", "mail-lab", "mail.lab.ziekenhuis-west.nl"},  // exact wins
        {"a.mail.lab.ziekenhuis-west.nl", "lab-west", ".lab.ziekenhuis-west.nl"},
        {"notziekenhuis-west.nl", "defaults", ""},  // a suffix is not a subdomain
        {"ziekenhuis-west.nl.evil.com", "defaults", ""},
        {"gemeente.nl", "defaults", ""},
    };
    for (const Row& r : rows) {
        INFO(r.domain);
        const PartnerMatch m = match_partner(c.partners, c.defaults, r.domain);
        REQUIRE(m.partner);
        CHECK(m.partner->name == r.partner);
        CHECK(m.rule == r.rule);
        CHECK(m.is_default == (std::string(r.partner) == "defaults"));
    }
    CHECK(match_partner(c.partners, c.defaults, "afd.ziekenhuis-west.nl").why ==
          "matched domain rule .ziekenhuis-west.nl of partner ziekenhuis-west");
    CHECK(match_partner(c.partners, c.defaults, "gemeente.nl").why ==
          "no partner rule matches gemeente.nl: the defaults apply");
}

TEST_CASE("the domain of an address") {
    CHECK(domain_of("Jan@Ziekenhuis-West.nl") == "ziekenhuis-west.nl");
    CHECK(domain_of("\"a@b\"@example.nl.") == "example.nl");
    CHECK(domain_of("example.nl") == "example.nl");
}

TEST_CASE("sensitive mail gets at least `authenticated`") {
    struct Row {
        TlsLevel configured, sensitive;
    };
    const Row rows[] = {
        {TlsLevel::None, TlsLevel::Authenticated},
        {TlsLevel::May, TlsLevel::Authenticated},
        {TlsLevel::Encrypt, TlsLevel::Authenticated},
        {TlsLevel::Verify, TlsLevel::Authenticated},
        {TlsLevel::Dane, TlsLevel::Authenticated},
        {TlsLevel::Fingerprint, TlsLevel::Fingerprint},
        {TlsLevel::Secure, TlsLevel::Secure},
        {TlsLevel::DaneOnly, TlsLevel::DaneOnly},
        {TlsLevel::Authenticated, TlsLevel::Authenticated},
    };
    for (const Row& r : rows) {
        INFO(to_string(r.configured));
        CHECK(sensitive_level(r.configured) == r.sensitive);
    }
    config::Partner p;
    p.tls = TlsLevel::May;
    p.mode = Mode::Testing;
    const config::Partner s = sensitive_partner(p);
    CHECK(s.tls == TlsLevel::Authenticated);
    CHECK(s.mode == Mode::Enforce);  // a sensitive message is never delivered as `may`
}

TEST_CASE("an honoured TLS-Required: No lifts the recipient's policies, never the partner's") {
    // RFC 8689 §4.2.2; docs/sensitive.md: DANE (under `dane`) and MTA-STS are
    // the recipient domain's; every mandatory level is the operator's.
    struct Row {
        TlsLevel configured, used;
    };
    const Row rows[] = {
        {TlsLevel::None, TlsLevel::None},
        {TlsLevel::May, TlsLevel::May},
        {TlsLevel::Dane, TlsLevel::May},
        {TlsLevel::Encrypt, TlsLevel::Encrypt},
        {TlsLevel::Fingerprint, TlsLevel::Fingerprint},
        {TlsLevel::Verify, TlsLevel::Verify},
        {TlsLevel::Secure, TlsLevel::Secure},
        {TlsLevel::DaneOnly, TlsLevel::DaneOnly},
        {TlsLevel::Authenticated, TlsLevel::Authenticated},
    };
    for (const Row& r : rows) {
        INFO(to_string(r.configured));
        config::Partner p;
        p.tls = r.configured;
        p.mta_sts = true;
        p.mode = Mode::Testing;
        const config::Partner o = tls_optional_partner(p);
        CHECK(o.tls == r.used);
        CHECK_FALSE(o.mta_sts);          // no MTA-STS policy is looked up
        CHECK(o.mode == Mode::Testing);  // testing stays testing
    }
}

TEST_CASE("reroute delivers to the fallback under secure and never reroutes again") {
    config::Partner p;
    p.tls = TlsLevel::DaneOnly;
    p.on_tls_failure = OnTlsFailure::Reroute;
    p.fallback_next_hop = config::NextHop{"securemail.example.nl", 25, false};
    const config::Partner r = reroute_partner(p);
    CHECK(r.tls == TlsLevel::Secure);
    REQUIRE(r.next_hop);
    CHECK(r.next_hop->host == "securemail.example.nl");
    CHECK_FALSE(r.next_hop->mx_lookup);
    CHECK(r.on_tls_failure == OnTlsFailure::Defer);
    CHECK_FALSE(r.fallback_next_hop);
}
