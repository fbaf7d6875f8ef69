// ticket_keys: a key seals for one period, opens for two, and then is gone.
#include <catch2/catch.hpp>

#include "relay/tls/ticket_keys.hpp"

using namespace chainmail::tls;
using namespace std::chrono_literals;

namespace {
const auto t0 = std::chrono::system_clock::time_point{} + 1000h;
}

TEST_CASE("one key seals for a whole period", "[tls][tickets]") {
    TicketKeyRing ring(12h);
    const auto a = ring.for_sealing(t0);
    CHECK(ring.for_sealing(t0 + 11h).name == a.name);
    auto opened = ring.for_opening(a.name.data(), t0 + 11h);
    REQUIRE(opened);
    CHECK(opened->second == TicketKeyRing::Open::Current);
}

TEST_CASE("after rotation the previous key still opens and asks for a new ticket",
          "[tls][tickets]") {
    TicketKeyRing ring(12h);
    const auto a = ring.for_sealing(t0);
    const auto b = ring.for_sealing(t0 + 12h);
    CHECK(b.name != a.name);
    CHECK(b.aes != a.aes);
    auto opened = ring.for_opening(a.name.data(), t0 + 20h);
    REQUIRE(opened);
    CHECK(opened->second == TicketKeyRing::Open::Previous);
    CHECK(opened->first.hmac == a.hmac);
}

TEST_CASE("a key two rotations old opens nothing", "[tls][tickets]") {
    TicketKeyRing ring(12h);
    const auto a = ring.for_sealing(t0);
    ring.for_sealing(t0 + 12h);
    ring.for_sealing(t0 + 24h);
    CHECK_FALSE(ring.for_opening(a.name.data(), t0 + 24h));
}

TEST_CASE("after a long quiet spell no old key is kept", "[tls][tickets]") {
    TicketKeyRing ring(12h);
    const auto a = ring.for_sealing(t0);
    // Rotation happens lazily at the next handshake; a key older than two periods
    // is not kept as the previous one.
    CHECK_FALSE(ring.for_opening(a.name.data(), t0 + 30h));
}

TEST_CASE("an unknown key name opens nothing", "[tls][tickets]") {
    TicketKeyRing ring(12h);
    ring.for_sealing(t0);
    const std::array<unsigned char, 16> other{};
    CHECK_FALSE(ring.for_opening(other.data(), t0));
}
