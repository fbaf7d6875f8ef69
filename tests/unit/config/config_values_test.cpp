// The scalar parsers of the configuration, as tables of input and result.
#include <catch2/catch.hpp>

#include "config/config.hpp"

using namespace chainmail::config;
using namespace std::chrono_literals;

namespace {
std::array<std::uint8_t, 16> ip(const char* s, bool& v6) {
    std::array<std::uint8_t, 16> b{};
    REQUIRE(parse_ip(s, v6, b));
    return b;
}
bool net_contains(const char* net, const char* addr) {
    auto n = parse_cidr(net);
    REQUIRE(n);
    bool v6 = false;
    auto a = ip(addr, v6);
    return n->contains(v6, a);
}
}  // namespace

TEST_CASE("durations take s, m, h, d, and a bare 0") {
    CHECK(parse_duration("30s") == Duration(30s));
    CHECK(parse_duration("5m") == Duration(5min));
    CHECK(parse_duration("4h") == Duration(4h));
    CHECK(parse_duration("5d") == Duration(120h));
    CHECK(parse_duration("0") == Duration(0s));
    CHECK(parse_duration("0s") == Duration(0s));
    for (auto bad :
         {"", "5", "30", "m", "5 m", "5M", "-5m", "1.5h", "5w", "1h30m", "99999999999d", "+5m"})
        CHECK_FALSE(parse_duration(bad));
}

TEST_CASE("sizes are binary multiples: 1 KB is 1024 bytes") {
    CHECK(parse_size("123") == 123u);
    CHECK(parse_size("123B") == 123u);
    CHECK(parse_size("10KB") == 10u * 1024);
    CHECK(parse_size("50MB") == 50u * 1024 * 1024);
    CHECK(parse_size("1GB") == 1024ull * 1024 * 1024);
    for (auto bad : {"", "MB", "5 MB", "5mb", "5TB", "-1", "1.5MB", "99999999999999999999GB"})
        CHECK_FALSE(parse_size(bad));
}

TEST_CASE("CIDR networks contain their addresses, v4, v6 and v4-mapped") {
    CHECK(net_contains("10.0.0.0/8", "10.255.1.2"));
    CHECK_FALSE(net_contains("10.0.0.0/8", "11.0.0.1"));
    CHECK(net_contains("127.0.0.0/8", "::ffff:127.0.0.1"));  // IPv4 client on an IPv6 socket
    CHECK_FALSE(net_contains("127.0.0.0/8", "::1"));
    CHECK(net_contains("::1/128", "::1"));
    CHECK_FALSE(net_contains("::1/128", "::2"));
    CHECK(net_contains("2001:db8::/32", "2001:db8:ffff::1"));
    CHECK_FALSE(net_contains("2001:db8::/32", "2001:db9::1"));
    CHECK_FALSE(net_contains("2001:db8::/32", "10.0.0.1"));
    CHECK(net_contains("0.0.0.0/0", "192.0.2.1"));
    CHECK(net_contains("192.0.2.7", "192.0.2.7"));  // a bare address is /32
    CHECK_FALSE(net_contains("192.0.2.7", "192.0.2.8"));
    CHECK(net_contains("10.1.2.0/23", "10.1.3.255"));
    CHECK_FALSE(net_contains("10.1.2.0/23", "10.1.4.0"));
    CHECK(parse_cidr("10.0.0.0/8")->str() == "10.0.0.0/8");
    CHECK(parse_cidr("2001:db8::/32")->str() == "2001:db8::/32");
    for (auto bad : {"", "10.0.0.0/33", "::/129", "10.1.2.3/8", "10.0.0/8", "10.0.0.0/", "host/8",
                     "10.0.0.0/-1", "[::1]/128"})
        CHECK_FALSE(parse_cidr(bad));
}

TEST_CASE("endpoints are host:port or [host]:port") {
    auto e = parse_endpoint("0.0.0.0:25");
    REQUIRE(e);
    CHECK(e->host == "0.0.0.0");
    CHECK(e->port == 25);
    e = parse_endpoint("[::]:587");
    REQUIRE(e);
    CHECK(e->host == "::");
    CHECK(e->port == 587);
    e = parse_endpoint("[::ffff:127.0.0.1]:2525");
    REQUIRE(e);
    CHECK(e->host == "::ffff:127.0.0.1");
    CHECK(parse_endpoint("localhost:9125"));
    for (auto bad : {"", "0.0.0.0", "0.0.0.0:", "0.0.0.0:0", "0.0.0.0:65536", ":::25", "::1:25",
                     "[::1]", "[::1]25", "a b:25", "[::1:25"})
        CHECK_FALSE(parse_endpoint(bad));
}

TEST_CASE("next hops: brackets mean no MX lookup, port 25 unless given") {
    struct Row {
        const char* in;
        const char* host;
        int port;
        bool mx;
        const char* back;
    };
    for (const Row& r :
         {Row{"[mx.example.nl]:25", "mx.example.nl", 25, false, "[mx.example.nl]:25"},
          Row{"[mx.example.nl]", "mx.example.nl", 25, false, "[mx.example.nl]:25"},
          Row{"example.nl:2525", "example.nl", 2525, true, "example.nl:2525"},
          Row{"Example.NL", "example.nl", 25, true, "example.nl"},
          Row{"[192.0.2.1]:587", "192.0.2.1", 587, false, "[192.0.2.1]:587"},
          Row{"[2001:db8::1]:25", "2001:db8::1", 25, false, "[2001:db8::1]:25"}}) {
        INFO(r.in);
        auto h = parse_next_hop(r.in);
        REQUIRE(h);
        CHECK(h->host == r.host);
        CHECK(h->port == r.port);
        CHECK(h->mx_lookup == r.mx);
        CHECK(h->str() == r.back);
    }
    for (auto bad : {"", "[]", "[mx]:", "mx:0", "mx:99999", "2001:db8::1", "[mx", "mx]:25", "[mx]x",
                     "a b", "mx:25:25", "user@mx"})
        CHECK_FALSE(parse_next_hop(bad));
}

TEST_CASE("fingerprints are sha256: and 64 hex digits, colons optional") {
    const std::string hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    std::string colons;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i) colons.push_back(':');
        colons.append(hex, i, 2);
    }
    auto a = parse_fingerprint("sha256:" + hex);
    auto b = parse_fingerprint("SHA256:" + colons);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == *b);
    CHECK((*a)[0] == 0x9f);
    CHECK((*a)[31] == 0x08);
    for (const std::string& bad : std::vector<std::string>{
             "sha256:" + hex.substr(2), "sha256:" + hex + "00", "sha1:" + hex, hex,
             "sha256:" + colons + ":", "sha256:9F:86:...:08", "sha256:" + hex.substr(1) + "g"})
        CHECK_FALSE(parse_fingerprint(bad));
}

TEST_CASE("domains are lower-cased and validated") {
    CHECK(parse_domain("Ziekenhuis-West.NL", true) == "ziekenhuis-west.nl");
    CHECK(parse_domain(".example.nl", true) == ".example.nl");
    CHECK(parse_domain("example.nl.", false) == "example.nl");
    CHECK_FALSE(parse_domain(".example.nl", false));
    for (auto bad : {"", ".", "a b.nl", "user@example.nl", "a..nl", "ex\xc3\xa9.nl", ".."})
        CHECK_FALSE(parse_domain(bad, true));
}
