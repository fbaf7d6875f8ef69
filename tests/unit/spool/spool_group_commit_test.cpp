// Group commit: many concurrent committers share syncs, every acknowledged
// message is durable, and each caller resumes on its own executor.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/detached.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "spool_test_util.hpp"

using namespace spool_test;

namespace {

const bool quiet = (spdlog::set_level(spdlog::level::err), true);

struct Load {
    int committers = 20;
    int per_committer = 50;
    std::size_t message_bytes = 10 * 1024;
    std::chrono::seconds limit{60};
};

struct LoadResult {
    std::vector<QueueId> ids;
    int failures = 0;
    int wrong_thread = 0;
    double seconds = 0;
};

// Runs `load.committers` coroutines on one io_context thread, each
// committing messages one after the other.
LoadResult run_load(Spool& spool, const Load& load) {
    boost::asio::io_context io;
    LoadResult res;
    const auto deadline = std::chrono::steady_clock::now() + load.limit;
    std::thread::id io_thread;
    const std::string msg = sample_message(load.message_bytes);
    for (int c = 0; c < load.committers; ++c) {
        boost::asio::co_spawn(
            io,
            [&]() -> boost::asio::awaitable<void> {
                for (int i = 0; i < load.per_committer; ++i) {
                    if (std::chrono::steady_clock::now() > deadline) break;
                    Envelope env = sample_envelope(1);
                    std::error_code ec = co_await spool.commit(env, msg);
                    if (std::this_thread::get_id() != io_thread) ++res.wrong_thread;
                    if (ec)
                        ++res.failures;
                    else
                        res.ids.push_back(env.id);
                }
            },
            boost::asio::detached);
    }
    const auto start = std::chrono::steady_clock::now();
    io_thread = std::this_thread::get_id();
    io.run();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return res;
}

}  // namespace

TEST_CASE("1,000 concurrent commits are all durable and share syncs", "[spool]") {
    TempDir tmp;
    LoadResult res;
    SpoolStats st;
    {
        auto spool = open_spool(tmp.path());
        res = run_load(*spool, Load{});
        st = spool->stats();
    }
    REQUIRE(res.failures == 0);
    REQUIRE(res.wrong_thread == 0);  // completions ran on the caller's executor
    REQUIRE(res.ids.size() == 1000);
    REQUIRE(st.records == 1000);
    REQUIRE(st.syncs < 500);
    auto spool = open_spool(tmp.path());
    REQUIRE(spool->live().size() == 1000);
    std::string bytes;
    for (std::size_t i = 0; i < res.ids.size(); i += 97) {
        REQUIRE_FALSE(spool->read_message(res.ids[i], bytes));
        REQUIRE(bytes == sample_message(10 * 1024));
    }
}

TEST_CASE("callers on a thread pool resume on the pool", "[spool]") {
    TempDir tmp;
    auto spool = open_spool(tmp.path());
    boost::asio::thread_pool pool(2);
    std::atomic<int> ok{0}, on_pool{0};
    for (int i = 0; i < 8; ++i)
        boost::asio::co_spawn(
            pool,
            [&]() -> boost::asio::awaitable<void> {
                Envelope env = sample_envelope(1);
                auto ec = co_await spool->commit(env, sample_message(100));
                auto ex = co_await boost::asio::this_coro::executor;
                if (ex.target<boost::asio::thread_pool::executor_type>()->running_in_this_thread())
                    ++on_pool;
                if (!ec) ++ok;
            },
            boost::asio::detached);
    pool.join();
    REQUIRE(ok == 8);
    REQUIRE(on_pool == 8);
}

// Measurement, not a requirement: `test_spool "[.bench]"`. Runs in
// $CHAINMAIL_BENCH_DIR (default: the temp directory).
TEST_CASE("benchmark: commits per second with 20 committers of 10 KB", "[.bench]") {
    TempDir tmp;
    std::string dir = tmp.path();
    if (const char* d = std::getenv("CHAINMAIL_BENCH_DIR")) dir = std::string(d) + "/bench-spool";
    {
        // The raw rate of the disk: append 10 KB, fdatasync, repeat, for 2 s.
        std::string path = tmp.sub("raw");
        int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
        REQUIRE(fd >= 0);
        std::string block(10 * 1024, 'x');
        int n = 0;
        auto t0 = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) {
            REQUIRE(::write(fd, block.data(), block.size()) == ssize_t(block.size()));
            REQUIRE(::fdatasync(fd) == 0);
            ++n;
        }
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ::close(fd);
        WARN("raw disk: " << n << " fdatasync of 10 KB appends in " << s << " s = " << n / s
                          << " syncs/s");
    }
    auto spool = open_spool(dir);
    Load load;
    load.per_committer = 2000;  // 40,000 commits, bounded by the time limit
    load.limit = std::chrono::seconds(20);
    LoadResult res = run_load(*spool, load);
    SpoolStats st = spool->stats();
    spool.reset();
    std::error_code ec;
    if (dir != tmp.path()) fs::remove_all(dir, ec);
    REQUIRE(res.failures == 0);
    WARN("spool: " << res.ids.size() << " commits in " << res.seconds
                   << " s = " << res.ids.size() / res.seconds << " commits/s; " << st.syncs
                   << " syncs (" << st.syncs / res.seconds << "/s, "
                   << double(res.ids.size()) / double(st.syncs) << " commits per sync)");
}
