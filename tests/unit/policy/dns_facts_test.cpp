#include <catch2/catch.hpp>

#include "policy/dns_facts.hpp"

using namespace chainmail::policy;

TEST_CASE("TLSA usability follows RFC 7672 section 3.1 and RFC 7671 section 4") {
    struct Row {
        int usage, selector, mtype;
        std::size_t len;
        bool usable;
    };
    const Row rows[] = {
        {3, 1, 1, 32, true},  {3, 0, 1, 32, true},    {2, 0, 1, 32, true},  {2, 1, 2, 64, true},
        {3, 1, 0, 294, true}, {3, 1, 1, 31, false},   {3, 1, 2, 32, false}, {3, 1, 0, 0, false},
        {0, 0, 1, 32, false}, {1, 1, 1, 32, false},   {4, 1, 1, 32, false}, {3, 2, 1, 32, false},
        {3, 1, 3, 32, false}, {255, 1, 1, 32, false},
    };
    for (const Row& r : rows) {
        INFO(r.usage << " " << r.selector << " " << r.mtype << " len " << r.len);
        TlsaRecord rec{static_cast<std::uint8_t>(r.usage), static_cast<std::uint8_t>(r.selector),
                       static_cast<std::uint8_t>(r.mtype), std::vector<std::uint8_t>(r.len, 7)};
        CHECK(tlsa_usable(rec) == r.usable);
    }
    TlsaFacts bogus{TlsaState::Bogus, {TlsaRecord{3, 1, 1, std::vector<std::uint8_t>(32, 1)}}};
    CHECK(usable_tlsa(bogus).empty());
}

TEST_CASE("MTA-STS MX patterns: a wildcard covers exactly one label (RFC 8461 section 4.1)") {
    CHECK(mx_pattern_matches("mx.example.nl", "mx.example.nl"));
    CHECK(mx_pattern_matches("MX.example.nl", "mx.Example.nl."));
    CHECK(mx_pattern_matches("*.example.nl", "mx1.example.nl"));
    CHECK_FALSE(mx_pattern_matches("*.example.nl", "a.b.example.nl"));
    CHECK_FALSE(mx_pattern_matches("*.example.nl", "example.nl"));
    CHECK_FALSE(mx_pattern_matches("*.example.nl", "mxexample.nl"));
    CHECK_FALSE(mx_pattern_matches("mx.example.nl", "mx2.example.nl"));
}

TEST_CASE("DANE applies only to names and addresses from DNSSEC-secure answers") {
    MxFacts mx;
    mx.state = DnsState::Secure;
    HostFacts h;
    h.address = DnsState::Secure;
    CHECK(dane_applies(mx, h));
    h.address = DnsState::Insecure;
    CHECK_FALSE(dane_applies(mx, h));
    h.address = DnsState::Secure;
    mx.state = DnsState::Insecure;
    CHECK_FALSE(dane_applies(mx, h));
    CHECK_FALSE(host_name_secure(mx, h));
    mx.source = HostSource::NextHop;
    CHECK(dane_applies(mx, h));
}
