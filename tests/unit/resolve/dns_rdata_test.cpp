// Pure parts of the resolver: rdata parsers, MX ordering, how the two
// address families combine, and what policy receives for TLSA.
#include <set>

#include <catch2/catch.hpp>

#include "relay/resolve/dns_rdata.hpp"

using namespace chainmail::resolve;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes wire(std::initializer_list<std::string> labels) {
    Bytes out;
    for (const auto& l : labels) {
        out.push_back(static_cast<std::uint8_t>(l.size()));
        out.insert(out.end(), l.begin(), l.end());
    }
    out.push_back(0);
    return out;
}

Bytes mx_rdata(std::uint16_t pref, const Bytes& name) {
    Bytes out(2 + name.size());
    out[0] = static_cast<std::uint8_t>(pref >> 8);
    out[1] = static_cast<std::uint8_t>(pref & 0xff);
    std::copy(name.begin(), name.end(), out.begin() + 2);
    return out;
}

DnsStatus st(DnsState s, bool secure, bool nx = false) {
    DnsStatus d;
    d.state = s;
    d.secure = secure;
    d.nxdomain = nx;
    return d;
}

}  // namespace

TEST_CASE("wire names: lower case, no trailing dot, escapes, no compression", "[resolve]") {
    std::size_t pos = 0;
    auto n = wire({"MX1", "Example", "NL"});
    CHECK(parse_wire_name(n, pos) == "mx1.example.nl");
    CHECK(pos == n.size());

    pos = 0;
    Bytes root{0};
    CHECK(parse_wire_name(root, pos) == "");

    pos = 0;
    auto odd = wire({"a.b", "nl"});  // a dot inside a label must not read as a separator
    CHECK(parse_wire_name(odd, pos) == "a\\046b.nl");

    pos = 0;
    Bytes pointer{3, 'f', 'o', 'o', 0xC0, 0x0C};
    CHECK_FALSE(parse_wire_name(pointer, pos));

    pos = 0;
    Bytes truncated{5, 'a', 'b'};
    CHECK_FALSE(parse_wire_name(truncated, pos));

    pos = 0;
    Bytes unterminated{2, 'a', 'b'};
    CHECK_FALSE(parse_wire_name(unterminated, pos));
}

TEST_CASE("MX rdata", "[resolve]") {
    auto mx = parse_mx(mx_rdata(10, wire({"mx", "example", "nl"})));
    REQUIRE(mx);
    CHECK(mx->preference == 10);
    CHECK(mx->host == "mx.example.nl");

    auto null = parse_mx(mx_rdata(0, Bytes{0}));
    REQUIRE(null);
    CHECK(null->host.empty());

    auto trailing = mx_rdata(5, wire({"a"}));
    trailing.push_back(7);
    CHECK_FALSE(parse_mx(trailing));
    CHECK_FALSE(parse_mx(Bytes{0, 1}));
}

TEST_CASE("TLSA rdata", "[resolve]") {
    auto r = parse_tlsa(Bytes{3, 1, 1, 0xab, 0xcd});
    REQUIRE(r);
    CHECK(r->usage == 3);
    CHECK(r->selector == 1);
    CHECK(r->mtype == 1);
    CHECK(r->data == Bytes{0xab, 0xcd});
    CHECK_FALSE(parse_tlsa(Bytes{3, 1, 1}));
}

TEST_CASE("TXT rdata: character-strings joined (RFC 1035 section 3.3.14)", "[resolve]") {
    CHECK(parse_txt(Bytes{3, 'v', '=', 'S', 2, 'T', 'S'}) == "v=STS");
    CHECK(parse_txt(Bytes{0}) == "");
    CHECK_FALSE(parse_txt(Bytes{4, 'a', 'b'}));
}

TEST_CASE("MX order: preference first, the random source orders equal ones", "[resolve]") {
    std::vector<MxHost> hosts{{20, "c"}, {10, "b"}, {10, "a"}, {30, "d"}};
    auto keep = [] { return std::uint64_t{1}; };  // j = n-1: no swap
    order_mx(hosts, keep);
    CHECK(hosts[0].host == "a");
    CHECK(hosts[1].host == "b");
    CHECK(hosts[2].host == "c");
    CHECK(hosts[3].host == "d");

    auto swap = [] { return std::uint64_t{0}; };
    order_mx(hosts, swap);
    CHECK(hosts[0].host == "b");
    CHECK(hosts[1].host == "a");
    CHECK(hosts[2].host == "c");

    // With a real source every order of three equal hosts turns up.
    std::uint64_t x = 88172645463325252ull;
    auto xorshift = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        std::vector<MxHost> h{{5, "x"}, {5, "y"}, {5, "z"}};
        order_mx(h, xorshift);
        seen.insert(h[0].host + h[1].host + h[2].host);
    }
    CHECK(seen.size() == 6);
}

TEST_CASE("null MX: exactly one record, preference 0, the root", "[resolve]") {
    CHECK(is_null_mx({{0, ""}}));
    CHECK_FALSE(is_null_mx({{10, ""}}));
    CHECK_FALSE(is_null_mx({{0, ""}, {10, "mx.example.nl"}}));
    CHECK_FALSE(is_null_mx({}));
}

TEST_CASE("normalize_name", "[resolve]") {
    CHECK(normalize_name("MX.Example.NL.") == "mx.example.nl");
    CHECK(normalize_name("a.b") == "a.b");
    CHECK(normalize_name(".") == "");
}

TEST_CASE("address families combine without downgrading a validated answer", "[resolve]") {
    using S = DnsState;
    struct Row {
        DnsStatus v6;
        bool has6;
        DnsStatus v4;
        bool has4;
        S want;
        bool want_secure;
    };
    const Row rows[] = {
        {st(S::Secure, true), true, st(S::Secure, true), true, S::Secure, true},
        {st(S::NotFound, true), false, st(S::Secure, true), true, S::Secure, true},
        {st(S::NotFound, false), false, st(S::Insecure, false), true, S::Insecure, false},
        {st(S::Insecure, false), true, st(S::Secure, true), true, S::Insecure, false},
        // A lost AAAA answer must not make a validated A look insecure.
        {st(S::TempFail, false), false, st(S::Secure, true), true, S::Secure, true},
        {st(S::Bogus, false), false, st(S::Secure, true), true, S::Bogus, false},
        {st(S::Secure, true), true, st(S::Bogus, false), false, S::Bogus, false},
        {st(S::TempFail, false), false, st(S::NotFound, true), false, S::TempFail, false},
        {st(S::NotFound, true), false, st(S::NotFound, true, true), false, S::NotFound, true},
        {st(S::NotFound, false), false, st(S::NotFound, true), false, S::NotFound, false},
    };
    for (const auto& r : rows) {
        auto c = combine_address_status(r.v6, r.has6, r.v4, r.has4);
        CHECK(c.state == r.want);
        CHECK(c.secure == r.want_secure);
    }
}

TEST_CASE("TLSA facts for policy", "[resolve]") {
    using chainmail::policy::TlsaState;
    TlsaAnswer a;
    a.status = st(DnsState::Secure, true);
    a.records.push_back({3, 1, 1, Bytes(32, 1)});
    CHECK(to_tlsa_facts(a).state == TlsaState::Secure);
    CHECK(to_tlsa_facts(a).records.size() == 1);
    a.records.clear();
    a.status = st(DnsState::NotFound, true);
    CHECK(to_tlsa_facts(a).state == TlsaState::SecureNoRecords);
    a.status = st(DnsState::NotFound, false);
    CHECK(to_tlsa_facts(a).state == TlsaState::Insecure);
    a.status = st(DnsState::Insecure, false);
    CHECK(to_tlsa_facts(a).state == TlsaState::Insecure);
    a.status = st(DnsState::Bogus, false);
    CHECK(to_tlsa_facts(a).state == TlsaState::Bogus);
    a.status = st(DnsState::TempFail, false);
    CHECK(to_tlsa_facts(a).state == TlsaState::TempFail);
}
