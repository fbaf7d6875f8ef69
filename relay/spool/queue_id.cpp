// queue_id: ULIDs (48-bit unix ms, 80 random bits, Crockford base32). Within
// one process the ids are strictly increasing: an id in the same millisecond
// as the previous one (or a clock that stepped back) is the previous plus one.
#include <sys/random.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <random>

#include "relay/spool/spool.hpp"

namespace chainmail::spool {

namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct State {
    std::mutex mutex;
    std::int64_t last_ms = -1;
    std::uint64_t hi = 0;  // top 16 of the 80 random bits
    std::uint64_t lo = 0;  // low 64 random bits
};

State& state() {
    static State s;
    return s;
}

void fill_random(std::uint64_t& hi, std::uint64_t& lo) {
    std::array<unsigned char, 10> b{};
    std::size_t got = 0;
    while (got < b.size()) {
        ssize_t n = getrandom(b.data() + got, b.size() - got, 0);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got < b.size()) {  // no kernel entropy call: fall back, uniqueness still holds
        std::random_device rd;
        for (auto& c : b) c = static_cast<unsigned char>(rd());
    }
    hi = std::uint64_t{b[0]} << 8 | b[1];
    lo = 0;
    for (std::size_t i = 2; i < 10; ++i) lo = lo << 8 | b[i];
    // Keep the top bit clear so that many increments in one millisecond
    // cannot overflow the 80 bits.
    hi &= 0x7FFF;
}

}  // namespace

QueueId make_queue_id(std::int64_t unix_ms) {
    State& s = state();
    std::uint64_t ms, hi, lo;
    {
        std::lock_guard lock(s.mutex);
        if (unix_ms > s.last_ms) {
            s.last_ms = unix_ms;
            fill_random(s.hi, s.lo);
        } else if (++s.lo == 0 && ++s.hi > 0xFFFF) {
            // 2^79 ids in one millisecond: move on to the next one.
            ++s.last_ms;
            fill_random(s.hi, s.lo);
        }
        ms = static_cast<std::uint64_t>(s.last_ms) & 0xFFFFFFFFFFFFull;
        hi = s.hi;
        lo = s.lo;
    }
    QueueId id(26, '0');
    for (int i = 9; i >= 0; --i, ms >>= 5) id[i] = kAlphabet[ms & 31];
    // 80 random bits as 16 five-bit groups, most significant first.
    for (int g = 0; g < 16; ++g) {
        int shift = 75 - 5 * g;  // position of the group's lowest bit
        std::uint64_t v;
        if (shift >= 64)
            v = hi >> (shift - 64);
        else if (shift > 59)
            v = (lo >> shift) | (hi << (64 - shift));
        else
            v = lo >> shift;
        id[10 + g] = kAlphabet[v & 31];
    }
    return id;
}

}  // namespace chainmail::spool
