// The resolver against a real signed hierarchy served by nsd (dnslab.sh):
// what the delivery stage relies on for each DNSSEC state.
#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>

#include "relay/resolve/dns_resolver.hpp"
#include "tests/unit/resolve/dnslab_fixture.hpp"

using namespace chainmail;
using namespace chainmail::resolve;
using chainmail::test::DnsLab;
using chainmail::test::run;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> names(const MxAnswer& a) {
    std::vector<std::string> out;
    for (const auto& h : a.hosts) out.push_back(h.host);
    return out;
}

bool has(const AddrAnswer& a, const char* ip) {
    return std::find(a.addresses.begin(), a.addresses.end(), asio::ip::make_address(ip)) !=
           a.addresses.end();
}

// A UDP socket that receives queries and never answers.
struct SilentServer {
    asio::io_context io;
    asio::ip::udp::socket sock{io, {asio::ip::make_address("127.0.0.1"), 0}};
    config::Dns dns() const {
        config::Dns d;
        d.nameservers.push_back({"127.0.0.1", sock.local_endpoint().port()});
        d.trust_anchor_file = DnsLab::get().trust_anchor();
        return d;
    }
};

}  // namespace

TEST_CASE("secure MX: validated, ordered by preference, equal preferences shuffled", "[resolve]") {
    for (std::uint64_t r : {0u, 1u}) {
        asio::io_context io;
        DnsResolver res(io.get_executor(), DnsLab::get().dns(), {.random = [r] { return r; }});
        auto a = run(io, res.mx("secure.lab"));
        REQUIRE(a.status.state == DnsState::Secure);
        CHECK(a.status.secure);
        CHECK_FALSE(a.null_mx);
        REQUIRE(a.hosts.size() == 3);
        CHECK(a.hosts[0].preference == 10);
        CHECK(a.hosts[1].preference == 10);
        CHECK(a.hosts[2].preference == 20);
        CHECK(a.hosts[2].host == "mx3.secure.lab");
        // The random source alone decides the order within preference 10.
        if (r == 0)
            CHECK(names(a) ==
                  std::vector<std::string>{"mx2.secure.lab", "mx1.secure.lab", "mx3.secure.lab"});
        if (r == 1)
            CHECK(names(a) ==
                  std::vector<std::string>{"mx1.secure.lab", "mx2.secure.lab", "mx3.secure.lab"});
    }
}

TEST_CASE("null MX is flagged and yields no host", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto a = run(io, res.mx("nullmx.secure.lab"));
    CHECK(a.status.state == DnsState::Secure);
    CHECK(a.null_mx);
    CHECK(a.hosts.empty());
}

TEST_CASE("no MX: a validated NODATA, and the domain's own address", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto a = run(io, res.mx("nomx.secure.lab"));
    CHECK(a.status.state == DnsState::NotFound);
    CHECK(a.status.secure);
    CHECK_FALSE(a.status.nxdomain);
    CHECK(a.hosts.empty());
    auto addr = run(io, res.addresses("nomx.secure.lab"));
    CHECK(addr.status.state == DnsState::Secure);
    CHECK(addr.addresses == std::vector{asio::ip::make_address("127.0.0.20")});

    auto nx = run(io, res.mx("nowhere.secure.lab"));
    CHECK(nx.status.state == DnsState::NotFound);
    CHECK(nx.status.secure);
    CHECK(nx.status.nxdomain);
}

TEST_CASE("addresses: A and AAAA, IPv6 first, secure NODATA for a missing family", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto a = run(io, res.addresses("mx1.secure.lab"));
    CHECK(a.status.state == DnsState::Secure);
    REQUIRE(a.addresses.size() == 2);
    CHECK(a.addresses[0] == asio::ip::make_address("::1"));
    CHECK(a.addresses[1] == asio::ip::make_address("127.0.0.11"));
    CHECK(a.status.canonical_name == "mx1.secure.lab");

    auto b = run(io, res.addresses("mx2.secure.lab"));
    CHECK(b.status.state == DnsState::Secure);
    CHECK(b.v6.state == DnsState::NotFound);
    CHECK(b.v6.secure);
    CHECK(b.addresses == std::vector{asio::ip::make_address("127.0.0.12")});
}

TEST_CASE("TLSA: secure records, secure NODATA and NXDOMAIN", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto t = run(io, res.tlsa("mx1.secure.lab", 25));
    CHECK(t.qname == "_25._tcp.mx1.secure.lab");
    REQUIRE(t.status.state == DnsState::Secure);
    REQUIRE(t.records.size() == 1);
    CHECK(t.records[0].usage == 3);
    CHECK(t.records[0].selector == 1);
    CHECK(t.records[0].mtype == 1);
    std::vector<std::uint8_t> digest(32, 0);
    digest[31] = 1;
    CHECK(t.records[0].data == digest);
    CHECK(to_tlsa_facts(t).state == policy::TlsaState::Secure);
    CHECK(to_tlsa_facts(t).records == t.records);

    auto nodata = run(io, res.tlsa("mx3.secure.lab", 25));
    CHECK(nodata.status.state == DnsState::NotFound);
    CHECK(nodata.status.secure);
    CHECK_FALSE(nodata.status.nxdomain);
    CHECK(to_tlsa_facts(nodata).state == policy::TlsaState::SecureNoRecords);

    auto nx = run(io, res.tlsa("mx2.secure.lab", 25));
    CHECK(nx.status.state == DnsState::NotFound);
    CHECK(nx.status.nxdomain);
    CHECK(to_tlsa_facts(nx).state == policy::TlsaState::SecureNoRecords);

    // Another port is another name.
    auto other = run(io, res.tlsa("mx1.secure.lab", 587));
    CHECK(other.status.state == DnsState::NotFound);
}

TEST_CASE("TXT: secure records with their strings joined, NXDOMAIN", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto t = run(io, res.txt("_25._tcp.mx3.secure.lab"));
    REQUIRE(t.status.state == DnsState::Secure);
    CHECK(t.records == std::vector<std::string>{"a name without TLSA"});
    auto nx = run(io, res.txt("_mta-sts.nothing.secure.lab"));
    CHECK(nx.status.state == DnsState::NotFound);
    CHECK(nx.records.empty());
}

TEST_CASE("an unsigned zone answers Insecure, never Secure", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto mx = run(io, res.mx("insecure.lab"));
    CHECK(mx.status.state == DnsState::Insecure);
    CHECK_FALSE(mx.status.secure);
    CHECK(names(mx) == std::vector<std::string>{"mx.insecure.lab"});
    auto addr = run(io, res.addresses("mx.insecure.lab"));
    CHECK(addr.status.state == DnsState::Insecure);
    CHECK(has(addr, "127.0.0.30"));
    auto t = run(io, res.tlsa("mx.insecure.lab", 25));
    CHECK(t.status.state == DnsState::Insecure);
    CHECK(to_tlsa_facts(t).state == policy::TlsaState::Insecure);
    auto none = run(io, res.mx("nothing.insecure.lab"));
    CHECK(none.status.state == DnsState::NotFound);
    CHECK_FALSE(none.status.secure);
}

TEST_CASE("a zone with expired signatures answers Bogus, never Secure or NotFound", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto mx = run(io, res.mx("bogus.lab"));
    CHECK(mx.status.state == DnsState::Bogus);
    CHECK_FALSE(mx.status.secure);
    CHECK(mx.hosts.empty());
    CHECK_THAT(mx.status.reason, Catch::Contains("expired"));
    auto addr = run(io, res.addresses("mx.bogus.lab"));
    CHECK(addr.status.state == DnsState::Bogus);
    CHECK(addr.addresses.empty());
    auto t = run(io, res.tlsa("mx.bogus.lab", 25));
    CHECK(t.status.state == DnsState::Bogus);
    CHECK(t.records.empty());
    CHECK(to_tlsa_facts(t).state == policy::TlsaState::Bogus);
    auto nx = run(io, res.mx("nothing.bogus.lab"));
    CHECK(nx.status.state == DnsState::Bogus);
}

TEST_CASE("without the trust anchor nothing is Secure", "[resolve]") {
    asio::io_context io;
    auto dns = DnsLab::get().dns();
    dns.trust_anchor_file.clear();
    DnsResolver res(io.get_executor(), dns);
    auto mx = run(io, res.mx("secure.lab"));
    CHECK(mx.status.state == DnsState::Insecure);
    CHECK(mx.hosts.size() == 3);
}

TEST_CASE("CNAME: the canonical name, secure only when the whole chain is", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get().dns());
    auto a = run(io, res.addresses("alias.secure.lab"));
    CHECK(a.status.state == DnsState::Secure);
    CHECK(a.status.canonical_name == "mx1.secure.lab");
    CHECK(has(a, "127.0.0.11"));
    CHECK(has(a, "::1"));
    // secure.lab -> insecure.lab: the chain leaves the signed tree.
    auto b = run(io, res.addresses("outside.secure.lab"));
    CHECK(b.status.state == DnsState::Insecure);
    CHECK(b.status.canonical_name == "mx.insecure.lab");
    CHECK(has(b, "127.0.0.30"));
}

TEST_CASE("a nameserver that does not answer gives TempFail within the timeout", "[resolve]") {
    using namespace std::chrono_literals;
    SilentServer silent;
    asio::io_context io;
    DnsResolver res(io.get_executor(), silent.dns(), {.timeout = 1s});
    const auto t0 = Clock::now();
    auto mx = run(io, res.mx("secure.lab"));
    const auto took = Clock::now() - t0;
    CHECK(mx.status.state == DnsState::TempFail);
    CHECK_FALSE(mx.status.reason.empty());
    CHECK(took >= 900ms);
    CHECK(took < 3s);
    auto addr = run(io, res.addresses("mx1.secure.lab"));
    CHECK(addr.status.state == DnsState::TempFail);
    CHECK(addr.addresses.empty());
}

TEST_CASE("a closed nameserver port gives TempFail within the timeout", "[resolve]") {
    using namespace std::chrono_literals;
    std::uint16_t closed = 0;
    {
        asio::io_context tmp;
        asio::ip::udp::socket s(tmp, {asio::ip::make_address("127.0.0.1"), 0});
        closed = s.local_endpoint().port();
    }
    auto dns = DnsLab::get().dns();
    dns.nameservers = {{"127.0.0.1", closed}};
    asio::io_context io;
    DnsResolver res(io.get_executor(), dns, {.timeout = 2s});
    const auto t0 = Clock::now();
    auto t = run(io, res.tlsa("mx1.secure.lab", 25));
    CHECK(t.status.state == DnsState::TempFail);
    CHECK(Clock::now() - t0 < 4s);
}

TEST_CASE("lookups are asynchronous: 50 at once on one thread", "[resolve]") {
    using namespace std::chrono_literals;
    SECTION("50 lookups in flight together, all answered") {
        asio::io_context io;
        DnsResolver res(io.get_executor(), DnsLab::get().dns());
        int in_flight = 0, peak = 0, secure = 0;
        const auto thread = std::this_thread::get_id();
        bool same_thread = true;
        for (int i = 0; i < 50; ++i) {
            // Distinct names: no answer comes from the cache of another.
            auto host = (i % 2 ? "mx1.secure.lab" : "mx2.secure.lab");
            asio::co_spawn(
                io,
                [&, host, i]() -> asio::awaitable<void> {
                    ++in_flight;
                    peak = std::max(peak, in_flight);
                    auto t = co_await res.tlsa(host, static_cast<std::uint16_t>(1000 + i));
                    same_thread = same_thread && std::this_thread::get_id() == thread;
                    if (t.status.state == DnsState::NotFound && t.status.secure) ++secure;
                    --in_flight;
                },
                asio::detached);
        }
        io.run();
        CHECK(peak == 50);
        CHECK(secure == 50);
        CHECK(same_thread);
    }
    SECTION("50 lookups to a silent server time out together, not one after another") {
        SilentServer silent;
        asio::io_context io;
        DnsResolver res(io.get_executor(), silent.dns(), {.timeout = 1s});
        int tempfail = 0;
        const auto t0 = Clock::now();
        for (int i = 0; i < 50; ++i) {
            asio::co_spawn(
                io,
                [&, i]() -> asio::awaitable<void> {
                    auto a = co_await res.mx("d" + std::to_string(i) + ".secure.lab");
                    if (a.status.state == DnsState::TempFail) ++tempfail;
                },
                asio::detached);
        }
        io.run();
        CHECK(tempfail == 50);
        CHECK(Clock::now() - t0 < 4s);
    }
}

TEST_CASE("bad dns settings fail at start-up", "[resolve]") {
    asio::io_context io;
    auto dns = DnsLab::get().dns();
    dns.trust_anchor_file = "/nonexistent/anchor.key";
    CHECK_THROWS(DnsResolver(io.get_executor(), dns));
    dns = DnsLab::get().dns();
    dns.nameservers = {{"not-an-address", 53}};
    CHECK_THROWS(DnsResolver(io.get_executor(), dns));
}

TEST_CASE("shutting down with lookups in flight drops them cleanly", "[resolve]") {
    SilentServer silent;
    int finished = 0;
    {
        asio::io_context io;
        DnsResolver res(io.get_executor(), silent.dns());
        for (int i = 0; i < 5; ++i) {
            asio::co_spawn(
                io,
                [&]() -> asio::awaitable<void> {
                    co_await res.mx("secure.lab");
                    ++finished;
                },
                asio::detached);
        }
        // Start the lookups, then leave with all of them unanswered.
        io.run_for(std::chrono::milliseconds(100));
    }
    CHECK(finished == 0);
}

TEST_CASE("names under test. go to the configured servers (RFC 6761 §6.2)", "[resolve]") {
    asio::io_context io;
    DnsResolver res(io.get_executor(), DnsLab::get_test_tld().dns());
    auto a = run(io, res.mx("secure.test"));
    REQUIRE(a.status.state == DnsState::Secure);
    CHECK(a.hosts.size() == 3);
    auto addr = run(io, res.addresses("mx1.secure.test"));
    CHECK(addr.status.state == DnsState::Secure);
    CHECK(has(addr, "127.0.0.11"));
    // A name the staging server does not have is its NXDOMAIN, validated.
    auto nx = run(io, res.mx("nowhere.secure.test"));
    CHECK(nx.status.state == DnsState::NotFound);
    CHECK(nx.status.secure);
}

TEST_CASE("invalid. and onion. stay answered locally, never asked (RFC 6761 §6.4, RFC 7686 §2)",
          "[resolve]") {
    // A server that never answers: an answer at once can only be local.
    SilentServer silent;
    asio::io_context io;
    DnsResolver res(io.get_executor(), silent.dns(), {.timeout = std::chrono::seconds(2)});
    for (const char* name : {"mail.invalid", "abcdefghijklmnop.onion"}) {
        auto a = run(io, res.mx(name));
        CHECK(a.status.state == DnsState::NotFound);
        CHECK(a.status.nxdomain);
    }
}
