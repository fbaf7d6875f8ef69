// Outbound end to end, in process: a real spool in a temporary directory, a
// real receiving server (smtp_peer.py) on loopback, the real delivery log.
#include <fcntl.h>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <functional>
#include <map>

#include "config/config.hpp"
#include "relay/clock/wall_clock.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/outbound/outbound.hpp"
#include "relay/spool/spool.hpp"
#include "relay/spool/spool_journal.hpp"
#include "relay/spool/spool_records.hpp"
#include "tests/unit/deliver/lab.hpp"

using namespace chainmail;
namespace asio = boost::asio;

namespace {

// Partner `peer` (example.test) and partner `late` (late.test) each have a
// next hop on loopback; the sender is in example.test, so reports reach the peer.
config::Config make_config(const std::string& dir, std::uint16_t port, std::uint16_t late_port) {
    const std::string yaml = R"(
hostname: relay.test
spool: )" + dir + R"(/spool
dns: { trust_anchor_file: "" , nameservers: ["127.0.0.1@9"] }
delivery: { connect_timeout: 3s }
queue: { retry_schedule: [1s], max_lifetime: 1h }
defaults: { tls: may, on_tls_failure: defer }
partners:
  - name: peer
    domains: [example.test]
    tls: may
    next_hop: "[127.0.0.1]:)" +
                             std::to_string(port) + R"("
  - name: late
    domains: [late.test]
    tls: may
    next_hop: "[127.0.0.1]:)" +
                             std::to_string(late_port) + R"("
)";
    auto r = config::load_config_text(yaml, "test.yaml", {false});
    REQUIRE(std::holds_alternative<config::Config>(r));
    return std::get<config::Config>(r);
}

std::vector<nlohmann::json> log_lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
}

spool::QueueId commit(asio::io_context& io, spool::Spool& sp, std::vector<std::string> rcpts) {
    spool::Envelope env;
    env.arrival_ms = clock::now_ms();
    env.sender = "alice@example.test";
    env.message_id = "<m1@example.test>";
    for (auto& a : rcpts) {
        spool::Recipient r;
        r.address = a;
        env.recipients.push_back(r);
    }
    std::error_code ec = lab::run(io, [&]() -> asio::awaitable<std::error_code> {
        co_return co_await sp.commit(
            env, "Subject: hello\r\nMessage-ID: <m1@example.test>\r\n\r\nbody\r\n");
    }());
    REQUIRE(!ec);
    return env.id;
}

// Runs the relay's outbound side until `done` holds (at most 30 s), then stops it.
void run_until(asio::io_context& io, outbound::Outbound& ob, const std::function<bool()>& done) {
    io.restart();
    ob.start();
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < end)
        io.run_for(std::chrono::milliseconds(50));
    bool stopped = false;
    ob.stop([&] { stopped = true; });
    while (!stopped && std::chrono::steady_clock::now() < end + std::chrono::seconds(10))
        io.run_for(std::chrono::milliseconds(50));
    CHECK(stopped);
}

// Where in the journal (segment, offset) each report was committed and each
// recipient of `id` was first recorded Failed.
struct JournalOrder {
    std::map<spool::QueueId, std::pair<std::uint64_t, std::uint64_t>> message_at;
    std::map<std::size_t, std::pair<std::uint64_t, std::uint64_t>> failed_at;
};

JournalOrder journal_order(const std::string& dir, const spool::QueueId& id) {
    namespace journal = spool::journal;
    namespace records = spool::records;
    JournalOrder out;
    for (std::uint64_t seq : journal::list_segments(dir)) {
        journal::Fd fd(::open(journal::segment_path(dir, seq).c_str(), O_RDONLY | O_CLOEXEC));
        journal::scan_segment(
            fd.get(), seq,
            [&](const records::Header& h, std::uint64_t off, std::string_view payload) {
                if (h.type == records::Type::Message)
                    out.message_at.emplace(h.id, std::pair{seq, off});
                if (h.type != records::Type::Update || h.id != id) return;
                if (auto changes = records::decode_update(payload))
                    for (const spool::RecipientUpdate& u : *changes)
                        if (u.state == spool::RcptState::Failed)
                            out.failed_at.emplace(u.index, std::pair{seq, off});
            });
    }
    return out;
}

int count_event(const std::vector<nlohmann::json>& lines, const std::string& ev) {
    int n = 0;
    for (const auto& l : lines) n += l["event"] == ev ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("a message is delivered once, logged, and removed from the spool") {
    lab::TempDir dir;
    lab::Peer peer({});
    const auto cfg = make_config(dir.path, peer.port(), 9);
    auto sp = spool::open_spool(cfg.spool);
    log::DeliveryLog dlog(dir.path + "/delivery.jsonl");
    asio::io_context io;
    outbound::Outbound ob(io.get_executor(), cfg, *sp, dlog, {0.1});
    const auto id = commit(io, *sp, {"bob@example.test"});
    run_until(io, ob, [&] { return sp->live().empty(); });
    CHECK(sp->live().empty());
    const auto rec = peer.record();
    REQUIRE(rec["messages"].size() == 1);
    CHECK(rec["messages"][0]["rcpt_tos"] == nlohmann::json::array({"bob@example.test"}));
    const auto lines = log_lines(dir.path + "/delivery.jsonl");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["event"] == "delivered");
    CHECK(lines[0]["queue_id"] == id);
    CHECK(lines[0]["rcpt"] == "bob@example.test");
    CHECK(lines[0]["partner"] == "peer");
    CHECK(lines[0]["policy"] == "may");
    CHECK(lines[0]["ip"] == "127.0.0.1");
    CHECK(lines[0]["port"] == peer.port());
    CHECK(lines[0]["dsn"] == "2.0.0");
    CHECK(lines[0]["attempt"] == 1);
    CHECK(!lines[0].contains("tls"));  // the peer offers no STARTTLS: plaintext under may
}

TEST_CASE("after a restart in the middle of a multi-recipient delivery nobody gets it twice") {
    lab::TempDir dir;
    lab::Peer peer({});
    // late.test's next hop: a port with no listener yet, so its recipient is deferred.
    std::uint16_t late_port = 0;
    {
        lab::Peer probe({});
        late_port = probe.port();
    }
    const auto cfg = make_config(dir.path, peer.port(), late_port);
    const std::string log_path = dir.path + "/delivery.jsonl";
    spool::QueueId id;
    {
        auto sp = spool::open_spool(cfg.spool);
        log::DeliveryLog dlog(log_path);
        asio::io_context io;
        outbound::Outbound ob(io.get_executor(), cfg, *sp, dlog, {0.1});
        id = commit(io, *sp, {"bob@example.test", "carol@late.test", "dave@example.test"});
        run_until(io, ob, [&] {
            return count_event(log_lines(log_path), "deferred") >= 1 &&
                   count_event(log_lines(log_path), "delivered") >= 2;
        });
        auto env = sp->find(id);
        REQUIRE(env);
        CHECK(env->recipients[0].state == spool::RcptState::Delivered);
        CHECK(env->recipients[1].state == spool::RcptState::Pending);
        CHECK(env->recipients[2].state == spool::RcptState::Delivered);
    }  // the relay stops; the spool is closed
    lab::Peer late({"--port", std::to_string(late_port)});
    {
        auto sp = spool::open_spool(cfg.spool);  // re-opened: state from disk only
        log::DeliveryLog dlog(log_path);
        asio::io_context io;
        outbound::Outbound ob(io.get_executor(), cfg, *sp, dlog, {0.1});
        run_until(io, ob, [&] { return sp->live().empty(); });
        CHECK(sp->live().empty());
    }
    const auto first = peer.record();
    REQUIRE(first["messages"].size() == 1);  // bob and dave in one transaction, once
    CHECK(first["messages"][0]["rcpt_tos"] ==
          nlohmann::json::array({"bob@example.test", "dave@example.test"}));
    const auto second = late.record();
    REQUIRE(second["messages"].size() == 1);
    CHECK(second["messages"][0]["rcpt_tos"] == nlohmann::json::array({"carol@late.test"}));
    CHECK(count_event(log_lines(log_path), "delivered") == 3);
}

TEST_CASE("two refused recipients of three give one report listing exactly those two") {
    lab::TempDir dir;
    lab::Peer peer({"--reject-rcpt", "x@example.test", "--reject-rcpt", "y@example.test"});
    const auto cfg = make_config(dir.path, peer.port(), 9);
    auto sp = spool::open_spool(cfg.spool);
    const std::string log_path = dir.path + "/delivery.jsonl";
    log::DeliveryLog dlog(log_path);
    asio::io_context io;
    outbound::Outbound ob(io.get_executor(), cfg, *sp, dlog, {0.1});
    const auto id = commit(io, *sp, {"x@example.test", "ok@example.test", "y@example.test"});
    run_until(io, ob, [&] { return sp->live().empty(); });
    const auto lines = log_lines(log_path);
    CHECK(count_event(lines, "delivered") == 1);
    CHECK(count_event(lines, "bounced") == 2);
    CHECK(count_event(lines, "ndr_sent") == 1);
    std::string ndr_id;
    for (const auto& l : lines)
        if (l["event"] == "bounced") {
            CHECK(l["dsn"] == "5.1.1");
            CHECK(l["queue_id"] == id);
            if (ndr_id.empty()) ndr_id = l["ndr_queue_id"];
            CHECK(l["ndr_queue_id"] == ndr_id);  // one report for both
        }
    CHECK(!ndr_id.empty());
    const auto rec = peer.record();
    REQUIRE(rec["messages"].size() == 2);  // the message (to ok@) and the report
    const auto& report = rec["messages"][1];
    CHECK(report["mail_from"] == "<>");
    CHECK(report["rcpt_tos"] == nlohmann::json::array({"alice@example.test"}));
    const std::string data = report["data"];
    CHECK(data.find("Final-Recipient: rfc822; x@example.test") != std::string::npos);
    CHECK(data.find("Final-Recipient: rfc822; y@example.test") != std::string::npos);
    CHECK(data.find("Final-Recipient: rfc822; ok@example.test") == std::string::npos);
    CHECK(data.find("multipart/report") != std::string::npos);
    // The report was in the journal before either Failed state: a kill at any
    // moment cannot leave the two recipients failed and their sender untold.
    const JournalOrder order = journal_order(cfg.spool, id);
    REQUIRE(order.message_at.count(ndr_id) == 1);
    REQUIRE(order.failed_at.count(0) == 1);
    REQUIRE(order.failed_at.count(2) == 1);
    CHECK(order.message_at.at(ndr_id) < order.failed_at.at(0));
    CHECK(order.message_at.at(ndr_id) < order.failed_at.at(2));
}
