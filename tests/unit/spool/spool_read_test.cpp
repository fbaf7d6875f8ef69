// Requirements of read_spool_messages, the reader behind `chainmail queue
// show --message`: the exact bytes of live messages, read while serve holds
// the spool, with nothing written; unknown, removed or torn ones are absent.
#include <catch2/catch.hpp>
#include <map>

#include "relay/clock/wall_clock.hpp"
#include "spool_test_util.hpp"

using namespace spool_test;

namespace {

// Every file of the spool with its size and contents, to show nothing changed.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) out[e.path().filename().string()] = read_file(e.path().string());
    return out;
}

const std::error_code kAbsent = std::make_error_code(std::errc::no_such_file_or_directory);

}  // namespace

TEST_CASE("queued bytes are read exactly while the spool is in use, and nothing changes",
          "[spool]") {
    TempDir tmp;
    Envelope a = sample_envelope(1), b = sample_envelope(2), gone = sample_envelope(1);
    const std::string msg_a = "Received: from x\r\nSubject: a\r\n\r\nbody a\r\n";
    // Any byte value is kept, NUL and 8-bit included.
    std::string msg_b = sample_message(50 * 1024, 'b');
    msg_b[100] = '\0';
    msg_b[101] = '\xff';
    auto spool = open_spool(tmp.path());
    REQUIRE_FALSE(wait(spool->commit(a, msg_a)));
    REQUIRE_FALSE(wait(spool->commit(b, msg_b)));
    REQUIRE_FALSE(wait(spool->commit(gone, sample_message(100))));
    REQUIRE_FALSE(wait(spool->remove(gone.id)));
    REQUIRE_FALSE(wait(spool->set_held(a.id, true)));

    const auto before = snapshot(tmp.path());
    const QueueId unknown = make_queue_id(chainmail::clock::now_ms());
    auto got = read_spool_messages(tmp.path(), {b.id, unknown, a.id, gone.id});
    REQUIRE(got.size() == 4);
    REQUIRE(got[0].id == b.id);
    REQUIRE_FALSE(got[0].error);
    REQUIRE(got[0].bytes == msg_b);
    REQUIRE(got[1].id == unknown);
    REQUIRE(got[1].error == kAbsent);
    REQUIRE(got[1].bytes.empty());
    REQUIRE(got[2].id == a.id);
    REQUIRE_FALSE(got[2].error);
    REQUIRE(got[2].bytes == msg_a);
    REQUIRE(got[3].error == kAbsent);  // removed: no longer in the queue
    REQUIRE(snapshot(tmp.path()) == before);

    // The spool keeps working after the read: it took no lock.
    Envelope c = sample_envelope(1);
    REQUIRE_FALSE(wait(spool->commit(c, "Subject: c\r\n\r\nc\r\n")));
    REQUIRE(read_spool_messages(tmp.path(), {c.id}).at(0).bytes == "Subject: c\r\n\r\nc\r\n");
}

TEST_CASE("a message copied forward by compaction is read from its live copy", "[spool]") {
    TempDir tmp;
    SpoolOptions opts;
    opts.segment_bytes = 64 * 1024;
    Envelope keep = sample_envelope(1);
    const std::string keep_msg = sample_message(10 * 1024, 'k');
    auto spool = open_spool(tmp.path(), opts);
    REQUIRE_FALSE(wait(spool->commit(keep, keep_msg)));
    std::vector<QueueId> done;
    for (int i = 0; i < 40; ++i) {
        Envelope e = sample_envelope(1);
        REQUIRE_FALSE(wait(spool->commit(e, sample_message(10 * 1024))));
        done.push_back(e.id);
    }
    for (const auto& id : done) REQUIRE_FALSE(wait(spool->remove(id)));
    REQUIRE_FALSE(wait(spool->set_held(keep.id, true)));
    REQUIRE(spool->stats().compactions >= 1);
    auto got = read_spool_messages(tmp.path(), {keep.id, done.front()});
    REQUIRE_FALSE(got[0].error);
    REQUIRE(got[0].bytes == keep_msg);
    REQUIRE(got[1].error == kAbsent);
}

TEST_CASE("a message whose record was cut off by a crash is never shown", "[spool]") {
    TempDir tmp;
    const std::string dir = tmp.sub("orig");
    Envelope a = sample_envelope(1), b = sample_envelope(1);
    const std::string msg_a = sample_message(500, 'a'), msg_b = sample_message(500, 'b');
    {
        auto spool = open_spool(dir);
        REQUIRE_FALSE(wait(spool->commit(a, msg_a)));
        REQUIRE_FALSE(wait(spool->commit(b, msg_b)));
    }
    const std::string seg = segment_files(dir).at(0);
    const std::string full = read_file(seg);
    TempDir copy;
    const std::string cut = copy.sub(fs::path(seg).filename().string());
    write_file(cut, full.substr(0, full.size() - 5));  // inside b's trailer
    auto got = read_spool_messages(copy.path(), {a.id, b.id});
    REQUIRE(got[0].bytes == msg_a);
    REQUIRE(got[1].error == kAbsent);
    REQUIRE(fs::file_size(cut) == full.size() - 5);  // not repaired: a reader writes nothing
}

TEST_CASE("a spool directory that does not exist holds no messages", "[spool]") {
    TempDir tmp;
    auto got = read_spool_messages(tmp.sub("absent"), {"01ARZ3NDEKTSV4RRFFQ69G5FAV"});
    REQUIRE(got.size() == 1);
    REQUIRE(got[0].error == kAbsent);
    REQUIRE_FALSE(fs::exists(tmp.sub("absent")));
}
