// Requirements of the journal spool: what commit() acknowledged survives a
// restart, a crash mid-write never shows a partial message, damaged records
// are skipped, state changes survive, and finished messages free their space.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>

#include "relay/spool/spool_records.hpp"
#include "spool_test_util.hpp"

using namespace spool_test;

namespace {

void require_same(const Envelope& a, const Envelope& b) {
    REQUIRE(a.id == b.id);
    REQUIRE(a.sender == b.sender);
    REQUIRE(a.ret == b.ret);
    REQUIRE(a.envid == b.envid);
    REQUIRE(a.body == b.body);
    REQUIRE(a.smtputf8 == b.smtputf8);
    REQUIRE(a.requiretls == b.requiretls);
    REQUIRE(a.held == b.held);
    REQUIRE(a.arrival_ms == b.arrival_ms);
    REQUIRE(a.client_ip == b.client_ip);
    REQUIRE(a.client_helo == b.client_helo);
    REQUIRE(a.client_tls == b.client_tls);
    REQUIRE(a.auth_user == b.auth_user);
    REQUIRE(a.message_id == b.message_id);
    REQUIRE(a.size == b.size);
    REQUIRE(a.recipients.size() == b.recipients.size());
    for (std::size_t i = 0; i < a.recipients.size(); ++i) {
        const Recipient &x = a.recipients[i], &y = b.recipients[i];
        REQUIRE(x.address == y.address);
        REQUIRE(x.orcpt == y.orcpt);
        REQUIRE(x.notify == y.notify);
        REQUIRE(x.state == y.state);
        REQUIRE(x.attempts == y.attempts);
        REQUIRE(x.next_attempt_ms == y.next_attempt_ms);
        REQUIRE(x.last_error == y.last_error);
    }
}

std::vector<QueueId> ids_of(const std::vector<Envelope>& envs) {
    std::vector<QueueId> out;
    for (const auto& e : envs) out.push_back(e.id);
    return out;
}

}  // namespace

TEST_CASE("CRC-32 is the IEEE/zlib one", "[spool]") {
    REQUIRE(records::crc32(0, "123456789", 9) == 0xCBF43926u);
    // Feeding the data in pieces gives the same value.
    std::string s = sample_message(1000);
    REQUIRE(records::crc32(records::crc32(0, s.data(), 333), s.data() + 333, s.size() - 333) ==
            records::crc32(0, s.data(), s.size()));
}

TEST_CASE("a committed message comes back after a restart with its envelope and bytes", "[spool]") {
    TempDir tmp;
    Envelope env = sample_envelope(3);
    const std::string msg = sample_message(10 * 1024);
    {
        auto spool = open_spool(tmp.path());
        REQUIRE_FALSE(wait(spool->commit(env, msg)));
        REQUIRE(env.id.size() == 26);
        REQUIRE(env.arrival_ms > 0);
        REQUIRE(env.size == msg.size());
        REQUIRE(spool->stats().syncs >= 1);
    }
    auto spool = open_spool(tmp.path());
    auto live = spool->live();
    REQUIRE(live.size() == 1);
    require_same(live[0], env);
    std::string bytes;
    REQUIRE_FALSE(spool->read_message(env.id, bytes));
    REQUIRE(bytes == msg);
    // The read-only view agrees.
    auto scanned = scan_spool(tmp.path());
    REQUIRE(scanned.size() == 1);
    require_same(scanned[0], env);
}

TEST_CASE("a write cut off at any byte of the last record never shows a partial message",
          "[spool]") {
    TempDir tmp;
    const std::string dir = tmp.sub("orig");
    Envelope a = sample_envelope(1), b = sample_envelope(2);
    const std::string msg_a = sample_message(2000, 'a'), msg_b = sample_message(300, 'b');
    std::string seg;
    std::uintmax_t end_a = 0;
    {
        auto spool = open_spool(dir);
        REQUIRE_FALSE(wait(spool->commit(a, msg_a)));
        seg = segment_files(dir).at(0);
        end_a = fs::file_size(seg);
        REQUIRE_FALSE(wait(spool->commit(b, msg_b)));
    }
    const std::string full = read_file(seg);
    REQUIRE(full.size() > end_a + 300);
    const std::string name = fs::path(seg).filename().string();
    int checked = 0;
    for (std::size_t cut = end_a + 1; cut < full.size(); ++cut, ++checked) {
        TempDir copy;
        write_file(copy.sub(name), full.substr(0, cut));
        // Read-only view first: it must skip the tail and change nothing.
        auto scanned = scan_spool(copy.path());
        REQUIRE(ids_of(scanned) == std::vector<QueueId>{a.id});
        REQUIRE(fs::file_size(copy.sub(name)) == cut);
        auto spool = open_spool(copy.path());
        auto live = spool->live();
        REQUIRE(ids_of(live) == std::vector<QueueId>{a.id});
        require_same(live[0], a);
        std::string bytes;
        REQUIRE_FALSE(spool->read_message(a.id, bytes));
        REQUIRE(bytes == msg_a);
        REQUIRE(fs::file_size(copy.sub(name)) == end_a);  // the torn tail was cut off
        if (cut % 64 == 0) {
            // Later records follow good data: they survive the next restart.
            Envelope c = sample_envelope(1);
            REQUIRE_FALSE(wait(spool->commit(c, "Subject: c\r\n\r\nc\r\n")));
            spool.reset();
            auto again = open_spool(copy.path());
            REQUIRE(ids_of(again->live()) == std::vector<QueueId>{a.id, c.id});
        }
    }
    REQUIRE(checked > 300);
}

TEST_CASE("a record with a bad checksum is skipped; the others survive", "[spool]") {
    TempDir tmp;
    Envelope a = sample_envelope(), b = sample_envelope(), c = sample_envelope();
    {
        auto spool = open_spool(tmp.path());
        REQUIRE_FALSE(wait(spool->commit(a, sample_message(1000, 'a'))));
        REQUIRE_FALSE(wait(spool->commit(b, sample_message(1000, 'b'))));
        REQUIRE_FALSE(wait(spool->commit(c, sample_message(1000, 'c'))));
    }
    const std::string seg = segment_files(tmp.path()).at(0);
    std::string data = read_file(seg);

    SECTION("damage in the middle record") {
        auto pos = data.find("bbbbbbbb");
        REQUIRE(pos != std::string::npos);
        data[pos + 100] = 'B';
        write_file(seg, data);
        REQUIRE(ids_of(scan_spool(tmp.path())) == std::vector<QueueId>{a.id, c.id});
        auto spool = open_spool(tmp.path());
        REQUIRE(ids_of(spool->live()) == std::vector<QueueId>{a.id, c.id});
        std::string bytes;
        REQUIRE_FALSE(spool->read_message(c.id, bytes));
        REQUIRE(bytes == sample_message(1000, 'c'));
    }
    SECTION("damage in the last record, then a new commit") {
        auto pos = data.find("cccccccc");
        REQUIRE(pos != std::string::npos);
        data[pos + 10] ^= 1;
        write_file(seg, data);
        Envelope d = sample_envelope();
        {
            auto spool = open_spool(tmp.path());
            REQUIRE(ids_of(spool->live()) == std::vector<QueueId>{a.id, b.id});
            REQUIRE_FALSE(wait(spool->commit(d, sample_message(500, 'd'))));
        }
        auto spool = open_spool(tmp.path());
        REQUIRE(ids_of(spool->live()) == std::vector<QueueId>{a.id, b.id, d.id});
    }
}

TEST_CASE("recipient updates, hold and removal survive a restart", "[spool]") {
    TempDir tmp;
    Envelope env = sample_envelope(3), other = sample_envelope(1);
    {
        auto spool = open_spool(tmp.path());
        REQUIRE_FALSE(wait(spool->commit(env, sample_message(4000))));
        REQUIRE_FALSE(wait(spool->commit(other, sample_message(100))));
        std::vector<RecipientUpdate> changes(2);
        changes[0] = {1, RcptState::Delivered, 1, 0, "250 2.0.0 Ok: queued"};
        changes[1] = {2, RcptState::Pending, 2, 1'900'000'000'000, "451 4.7.0 try later"};
        REQUIRE_FALSE(wait(spool->update(env.id, changes)));
        REQUIRE_FALSE(wait(spool->set_held(env.id, true)));
        REQUIRE_FALSE(wait(spool->remove(other.id)));
        // Errors a caller can cause are values, and change nothing.
        REQUIRE(wait(spool->update(env.id, {{7, RcptState::Failed, 1, 0, "x"}})) ==
                std::errc::invalid_argument);
        REQUIRE(wait(spool->update("01ZZZZZZZZZZZZZZZZZZZZZZZZ", {})) ==
                std::errc::no_such_file_or_directory);
        REQUIRE(wait(spool->remove(other.id)) == std::errc::no_such_file_or_directory);
    }
    env.recipients[1].state = RcptState::Delivered;
    env.recipients[1].attempts = 1;
    env.recipients[1].last_error = "250 2.0.0 Ok: queued";
    env.recipients[2].attempts = 2;
    env.recipients[2].next_attempt_ms = 1'900'000'000'000;
    env.recipients[2].last_error = "451 4.7.0 try later";
    env.held = true;
    auto spool = open_spool(tmp.path());
    auto live = spool->live();
    REQUIRE(live.size() == 1);
    require_same(live[0], env);
    require_same(*spool->find(env.id), env);
    REQUIRE_FALSE(spool->find(other.id));
    require_same(scan_spool(tmp.path()).at(0), env);
}

TEST_CASE("finished messages free their segments; a long-deferred one is copied forward",
          "[spool]") {
    TempDir tmp;
    SpoolOptions opts;
    opts.segment_bytes = 64 * 1024;
    Envelope keep = sample_envelope(2);
    const std::string keep_msg = sample_message(10 * 1024, 'k');
    std::vector<QueueId> done;
    {
        auto spool = open_spool(tmp.path(), opts);
        REQUIRE_FALSE(wait(spool->commit(keep, keep_msg)));
        REQUIRE_FALSE(wait(spool->update(keep.id, {{0, RcptState::Delivered, 1, 0, "250 ok"}})));
        for (int i = 0; i < 40; ++i) {
            Envelope e = sample_envelope(1);
            REQUIRE_FALSE(wait(spool->commit(e, sample_message(10 * 1024))));
            done.push_back(e.id);
        }
        REQUIRE(segment_files(tmp.path()).size() >= 6);
        for (const auto& id : done) REQUIRE_FALSE(wait(spool->remove(id)));
        // Compaction runs between batches: one more durable call passes it.
        REQUIRE_FALSE(wait(spool->set_held(keep.id, true)));
        auto st = spool->stats();
        REQUIRE(st.compactions >= 1);
        REQUIRE(st.live_messages == 1);
        REQUIRE(st.segments <= 2);
        REQUIRE(segment_files(tmp.path()).size() == st.segments);
        std::string bytes;
        REQUIRE_FALSE(spool->read_message(keep.id, bytes));
        REQUIRE(bytes == keep_msg);
    }
    auto spool = open_spool(tmp.path(), opts);
    auto live = spool->live();
    REQUIRE(ids_of(live) == std::vector<QueueId>{keep.id});
    REQUIRE(live[0].recipients[0].state == RcptState::Delivered);
    REQUIRE(live[0].held);
    std::string bytes;
    REQUIRE_FALSE(spool->read_message(keep.id, bytes));
    REQUIRE(bytes == keep_msg);
}

TEST_CASE("a second open of a spool in use fails; scan_spool still reads it", "[spool]") {
    TempDir tmp;
    Envelope env = sample_envelope();
    {
        auto spool = open_spool(tmp.path());
        REQUIRE_FALSE(wait(spool->commit(env, sample_message(100))));
        REQUIRE_THROWS_WITH(open_spool(tmp.path()), Catch::Contains("in use"));
        REQUIRE(ids_of(scan_spool(tmp.path())) == std::vector<QueueId>{env.id});
    }
    REQUIRE_NOTHROW(open_spool(tmp.path()));
    REQUIRE(scan_spool(tmp.sub("absent")).empty());
}

TEST_CASE("a recipient's outcome survives a kill right after update() was called", "[spool]") {
    // GUARANTEE.md: the state record reaches the kernel when update() is
    // called, not after the grouped fdatasync; a killed process loses no
    // written page. Each round kills a process the moment its update waits.
    TempDir tmp;
    Envelope env = sample_envelope(1);
    {
        auto spool = open_spool(tmp.path());
        REQUIRE_FALSE(wait(spool->commit(env, sample_message(1000))));
    }
    int lost = 0;
    for (std::uint32_t round = 1; round <= 20; ++round) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            auto spool = open_spool(tmp.path());
            boost::asio::io_context io;
            RecipientUpdate u;
            u.index = 0;
            u.state = RcptState::Delivered;
            u.attempts = round;
            u.last_error = "250 2.0.0 Ok";
            boost::asio::co_spawn(io, spool->update(env.id, {u}), boost::asio::detached);
            io.poll();  // update() has handed its record over and waits for the sync
            ::kill(::getpid(), SIGKILL);
            ::_exit(3);  // not reached
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFSIGNALED(status));
        auto spool = open_spool(tmp.path());
        auto e = spool->find(env.id);
        REQUIRE(e);
        if (e->recipients[0].attempts != round) ++lost;
    }
    CHECK(lost == 0);
}

TEST_CASE("a state committed with its reports is never found without them, cut at any byte",
          "[spool]") {
    // commit_with_update(): the reports' records come first and the state's
    // last, so a kill at any byte of the group leaves none, or the reports
    // alone, or all of it; never the Failed state without its report.
    TempDir tmp;
    const std::string dir = tmp.sub("orig");
    Envelope env = sample_envelope(2);
    std::vector<NewMessage> reports(2);
    for (NewMessage& r : reports) {
        r.env = sample_envelope(1);
        r.env.sender = "";
        r.env.ndr = true;
        r.bytes = sample_message(700, 'r');
    }
    const std::vector<RecipientUpdate> failed{{0, RcptState::Failed, 1, 0, "550 5.1.1 unknown"}};
    std::string seg;
    std::uintmax_t before = 0;
    {
        auto spool = open_spool(dir);
        REQUIRE_FALSE(wait(spool->commit(env, sample_message(500))));
        seg = segment_files(dir).at(0);
        before = fs::file_size(seg);
        REQUIRE_FALSE(wait(spool->commit_with_update(reports, env.id, failed)));
        REQUIRE(spool->find(env.id)->recipients[0].state == RcptState::Failed);
        REQUIRE(spool->find(reports[0].env.id));
        REQUIRE(spool->find(reports[1].env.id));
        // An update for a message that is not live commits no report either.
        std::vector<NewMessage> stray(1);
        stray[0].env = sample_envelope(1);
        stray[0].bytes = sample_message(100);
        REQUIRE(wait(spool->commit_with_update(stray, "01ZZZZZZZZZZZZZZZZZZZZZZZZ", failed)) ==
                std::errc::no_such_file_or_directory);
        REQUIRE(spool->live().size() == 3);
    }
    const std::string full = read_file(seg);
    const std::string name = fs::path(seg).filename().string();
    std::size_t failed_seen = 0, reports_alone = 0;
    for (std::size_t cut = before; cut <= full.size(); ++cut) {
        TempDir copy;
        write_file(copy.sub(name), full.substr(0, cut));
        auto spool = open_spool(copy.path());
        const bool is_failed = spool->find(env.id)->recipients[0].state == RcptState::Failed;
        const int n =
            (spool->find(reports[0].env.id) ? 1 : 0) + (spool->find(reports[1].env.id) ? 1 : 0);
        if (is_failed) REQUIRE(n == 2);
        failed_seen += is_failed ? 1 : 0;
        reports_alone += !is_failed && n == 2 ? 1 : 0;
    }
    REQUIRE(failed_seen == 1);  // only the whole journal has the state
    // The reports alone: every cut inside the state's record, the last one.
    REQUIRE(reports_alone == records::encode_update(env.id, failed).size());
}
