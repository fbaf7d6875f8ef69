// A recipient's outcome written early (before the grouped fdatasync) survives
// a kill also while segments roll over: the roll syncs such records in the
// old segment instead of cutting them off there (FORMAT.md, group commit).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>

#include "spool_test_util.hpp"

using namespace spool_test;

namespace {

// The child: updates `id` with attempts first, first + 1, ... while other messages are
// committed and removed around it, so that segments roll and are compacted
// all the time. Each attempt number goes to `out` once update() has handed
// its record over, before the sync that completes it.
[[noreturn]] void churn(const std::string& dir, const QueueId& id, std::uint32_t first, int out) {
    SpoolOptions o;
    o.segment_bytes = 16 * 1024;
    auto spool = open_spool(dir, o);
    boost::asio::io_context io;
    const std::string filler = sample_message(6000);
    for (std::uint32_t k = first;; ++k) {
        Envelope env = sample_envelope(1);
        bool committed = false, updated = false;
        boost::asio::co_spawn(io, spool->commit(env, filler),
                              [&](std::exception_ptr, std::error_code) { committed = true; });
        RecipientUpdate u;
        u.index = 0;
        u.state = RcptState::Pending;
        u.attempts = k;
        u.last_error = "451 4.3.0 try again";
        boost::asio::co_spawn(io, spool->update(id, {u}),
                              [&](std::exception_ptr, std::error_code) { updated = true; });
        io.poll();  // both handed over; the update's record is in the kernel
        if (::write(out, &k, sizeof k) != sizeof k) ::_exit(4);
        io.restart();
        while (!committed || !updated) io.run_one();
        boost::asio::co_spawn(io, spool->remove(env.id), boost::asio::detached);
        io.restart();
        io.poll();
    }
}

}  // namespace

TEST_CASE("outcomes written early survive kills while segments roll and are compacted", "[spool]") {
    TempDir tmp;
    Envelope env = sample_envelope(1);
    {
        auto spool = open_spool(tmp.path());
        REQUIRE_FALSE(wait(spool->commit(env, sample_message(1000))));
    }
    std::mt19937 rng(std::random_device{}());
    int lost = 0;
    for (int round = 0; round < 20; ++round) {
        int p[2];
        REQUIRE(::pipe(p) == 0);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(p[0]);
            // Each round counts from higher up: an earlier round's last value
            // never stands in for a record this round lost.
            churn(tmp.path(), env.id, static_cast<std::uint32_t>(round + 1) * 100000, p[1]);
        }
        ::close(p[1]);
        // Kill after a random number of updates: anywhere in the rhythm of
        // writes, syncs, rolls and compactions.
        const int target = std::uniform_int_distribution<int>(3, 40)(rng);
        std::uint32_t last = 0;
        for (int n = 0; n < target; ++n) REQUIRE(::read(p[0], &last, sizeof last) == sizeof last);
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        ::close(p[0]);
        REQUIRE(WIFSIGNALED(status));
        SpoolOptions o;
        o.segment_bytes = 16 * 1024;
        auto spool = open_spool(tmp.path(), o);
        auto e = spool->find(env.id);
        REQUIRE(e);
        // The child may have written more after `last`; never fewer.
        if (e->recipients[0].attempts < last) ++lost;
    }
    CHECK(lost == 0);
}
