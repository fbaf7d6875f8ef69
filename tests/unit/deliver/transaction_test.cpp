// Requirements on the mail transaction: pipelining, connection reuse,
// per-recipient replies, SIZE, DSN parameters and timeouts.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>

#include "deliver_fixture.hpp"

using namespace chainmail;
using namespace fixture;
using deliver::Failure;

TEST_CASE("pipelining: MAIL, RCPT and DATA go in one write when offered", "[transaction]") {
    lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
    const auto d = deliver_one(shared_ctx(), options(peer.port()));
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].pipelined);
    CHECK(d.tx[0].delivered(0));
    const auto events = peer.record()["events"];
    bool saw_pipelined_mail = false;
    for (const auto& e : events) saw_pipelined_mail |= e["cmd"] == "MAIL" && e["pipelined"] == true;
    CHECK(saw_pipelined_mail);
}

TEST_CASE("without PIPELINING the commands go one by one", "[transaction]") {
    lab::Peer peer({"--no-pipelining"});
    auto o = plain_options(peer.port());
    const auto d = deliver_one(shared_ctx(), o);
    REQUIRE(d.tx.size() == 1);
    CHECK_FALSE(d.tx[0].pipelined);
    CHECK(d.tx[0].delivered(0));
    CHECK(peer.record()["messages"].size() == 1);
}

TEST_CASE("two transactions share one connection, with RSET between", "[transaction]") {
    lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
    auto second = message(kData);
    second.recipients = {{"carol@example.test", 0, {}}};
    const auto d = deliver_all(shared_ctx(), options(peer.port()), {message(kData), second});
    REQUIRE(d.tx.size() == 2);
    CHECK(d.tx[0].delivered(0));
    CHECK(d.tx[1].delivered(0));
    const auto rec = peer.record();
    CHECK(rec["connections"] == 1);
    CHECK(rec["messages"].size() == 2);
    CHECK(rec["messages"][1]["rcpt_tos"][0] == "carol@example.test");
    CHECK(peer.count("RSET") == 1);
    // RFC 2920 §3.1: with PIPELINING the RSET opens the next group (one
    // round trip fewer per message); without it, it goes on its own.
    bool rset_pipelined = false;
    for (const auto& e : rec["events"])
        if (e["cmd"] == "RSET") rset_pipelined = e["pipelined"] == true;
    CHECK(rset_pipelined);
}

TEST_CASE("without PIPELINING the RSET between transactions goes on its own", "[transaction]") {
    lab::Peer peer({"--no-pipelining"});
    auto o = plain_options(peer.port());
    auto second = message(kData);
    second.recipients = {{"carol@example.test", 0, {}}};
    const auto d = deliver_all(shared_ctx(), o, {message(kData), second});
    REQUIRE(d.tx.size() == 2);
    CHECK(d.tx[1].delivered(0));
    const auto rec = peer.record();
    CHECK(rec["connections"] == 1);
    CHECK(rec["messages"].size() == 2);
    CHECK(peer.count("RSET") == 1);
    for (const auto& e : rec["events"])
        if (e["cmd"] == "RSET") CHECK(e["pipelined"] == false);
}

// RFC 3030: with CHUNKING the message goes as "BDAT <size> LAST" and its
// octets as they are: a line starting with a dot is not doubled.
TEST_CASE("with CHUNKING the message goes as one BDAT LAST, not dot-stuffed", "[transaction]") {
    const auto pipelining = GENERATE(true, false);
    lab::Peer peer(peer_args({"--chunking"}, pipelining));
    const auto o = plain_options(peer.port());
    auto second = message(kData);
    second.recipients = {{"carol@example.test", 0, {}}};
    const auto d = deliver_all(shared_ctx(), o, {message(kData), second});
    REQUIRE(d.tx.size() == 2);
    for (const auto& t : d.tx) {
        CHECK(t.chunked);
        CHECK(t.pipelined == pipelining);
        CHECK(t.delivered(0));
        CHECK(t.data.code == 250);
    }
    const auto rec = peer.record();
    CHECK(rec["connections"] == 1);
    REQUIRE(rec["messages"].size() == 2);
    for (const auto& msg : rec["messages"]) {
        CHECK(msg["via"] == "BDAT");
        CHECK(msg["data"] == std::string(kData));
    }
    CHECK(peer.count("DATA") == 0);
    CHECK(peer.count("BDAT") == 2);
    for (const auto& e : rec["events"]) {
        if (e["cmd"] == "BDAT") {
            CHECK(e["last"] == true);
            CHECK(e["size"] == kData.size());
        }
        // With PIPELINING the group is RSET, MAIL, RCPT and BDAT with the message.
        if (e["cmd"] == "MAIL" || e["cmd"] == "RSET") CHECK(e["pipelined"] == pipelining);
    }
}

TEST_CASE("a partner with chunking: false gets DATA although CHUNKING is offered",
          "[transaction]") {
    lab::Peer peer({"--chunking"});
    auto m = message(kData);
    m.chunking = false;
    const auto d = deliver_all(shared_ctx(), plain_options(peer.port()), {m});
    REQUIRE(d.tx.size() == 1);
    CHECK_FALSE(d.tx[0].chunked);
    CHECK(d.tx[0].delivered(0));
    CHECK(peer.count("BDAT") == 0);
    CHECK(peer.count("DATA") == 1);
    const auto msgs = peer.record()["messages"];
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]["via"] == "DATA");
    CHECK(msgs[0]["data"] == std::string(kData));
}

TEST_CASE("BDAT: a large message without a final CRLF arrives whole", "[transaction]") {
    lab::Peer peer({"--chunking"});
    auto o = plain_options(peer.port());
    std::string big = "Subject: big\r\n\r\n";
    for (int i = 0; big.size() < 200 * 1024; ++i)
        big += (i % 7 ? "line " : ".dot ") + std::to_string(i) + "\r\n";
    big += ".last line without CRLF";
    const auto d = deliver_all(shared_ctx(), o, {message(big)});
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].chunked);
    CHECK(d.tx[0].delivered(0));
    const auto msgs = peer.record()["messages"];
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]["data"] == big + "\r\n");  // one CRLF added, as with DATA
}

TEST_CASE("BDAT: refused recipients end the transaction and the connection stays in step",
          "[transaction]") {
    const auto pipelining = GENERATE(true, false);
    lab::Peer peer(peer_args({"--chunking", "--reject-rcpt", "nobody@example.test"}, pipelining));
    const auto o = plain_options(peer.port());
    auto refused = message(kData);
    refused.recipients = {{"nobody@example.test", 0, {}}};
    const auto d = deliver_all(shared_ctx(), o, {refused, message(kData)});
    REQUIRE(d.tx.size() == 2);
    CHECK(d.tx[0].result.failure == Failure::Reply);
    CHECK(d.tx[0].result.stage == deliver::Stage::Rcpt);
    CHECK(d.tx[0].rcpt[0].code == 550);
    CHECK_FALSE(d.tx[0].delivered(0));
    // The next message on the same connection is read correctly: the
    // refused chunk's octets were consumed, not taken for commands.
    CHECK(d.tx[1].delivered(0));
    const auto msgs = peer.record()["messages"];
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]["rcpt_tos"] == nlohmann::json::array({"bob@example.test"}));
    // Without PIPELINING no chunk is sent when no recipient was accepted.
    CHECK(peer.count("BDAT") == (pipelining ? 2 : 1));
}

TEST_CASE("BDAT: a message the caller calls back is not sent", "[transaction]") {
    lab::Peer peer({"--chunking"});
    auto o = plain_options(peer.port());
    auto m = message(kData);
    m.go_ahead = [] { return false; };
    const auto d = deliver_all(shared_ctx(), o, {m});
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].result.failure == Failure::Lost);
    CHECK(peer.count("BDAT") == 0);
    CHECK(peer.count("MAIL") == 0);
    CHECK(peer.record()["messages"].empty());
}

TEST_CASE("each recipient gets its own reply", "[transaction]") {
    const auto pipelining = GENERATE(true, false);
    lab::Peer peer(peer_args({"--reject-rcpt", "nobody@example.test"}, pipelining));
    const auto o = plain_options(peer.port());
    auto m = message(kData);
    m.recipients = {{"nobody@example.test", 0, {}}, {"bob@example.test", 0, {}}};
    const auto d = deliver_all(shared_ctx(), o, {m});
    REQUIRE(d.tx.size() == 1);
    const auto& t = d.tx[0];
    CHECK(t.rcpt[0].code == 550);
    CHECK(t.rcpt[0].enhanced == "5.1.1");
    CHECK_FALSE(t.delivered(0));
    CHECK(t.delivered(1));
    const auto msgs = peer.record()["messages"];
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]["rcpt_tos"] == nlohmann::json::array({"bob@example.test"}));
}

TEST_CASE("a refused sender fails the whole transaction", "[transaction]") {
    lab::Peer peer({"--reject-mail"});
    auto o = plain_options(peer.port());
    const auto d = deliver_one(shared_ctx(), o);
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].result.failure == Failure::Reply);
    CHECK(d.tx[0].result.stage == deliver::Stage::Mail);
    CHECK(d.tx[0].mail.code == 550);
    CHECK_FALSE(d.tx[0].delivered(0));
    CHECK(peer.record()["messages"].empty());
}

TEST_CASE("a message over the peer's SIZE is refused before MAIL (5.3.4)", "[transaction]") {
    lab::Peer peer({"--size", "20"});
    auto o = plain_options(peer.port());
    const auto d = deliver_one(shared_ctx(), o);
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].result.failure == Failure::Local);
    CHECK(d.tx[0].result.reply.code == 552);
    CHECK(d.tx[0].result.reply.enhanced == "5.3.4");
    CHECK(peer.count("MAIL") == 0);
}

TEST_CASE("DSN parameters pass on when the peer offers DSN", "[transaction]") {
    auto m = message(kData);
    m.ret = spool::Ret::Hdrs;
    m.envid = "id 42";
    m.recipients = {{"bob@example.test", spool::kNotifySuccess | spool::kNotifyFailure,
                     "rfc822;bob@example.test"}};
    SECTION("offered") {
        lab::Peer peer({"--dsn"});
        auto o = options(peer.port());
        o.starttls = policy::Starttls::Never;
        const auto d = deliver_all(shared_ctx(), o, {m});
        REQUIRE(d.tx.size() == 1);
        CHECK(d.tx[0].delivered(0));
        CHECK_FALSE(d.tx[0].dsn_dropped);
        const auto msg = peer.record()["messages"][0];
        const auto mail_options = msg["mail_options"].dump();
        CHECK(mail_options.find("RET=HDRS") != std::string::npos);
        CHECK(mail_options.find("ENVID=id+2042") != std::string::npos);
        const auto rcpt_options = msg["rcpt_options"].dump();
        CHECK(rcpt_options.find("NOTIFY=SUCCESS,FAILURE") != std::string::npos);
        CHECK(rcpt_options.find("ORCPT=rfc822;bob@example.test") != std::string::npos);
    }
    SECTION("not offered: withheld, and said so for a \"relayed\" report") {
        lab::Peer peer({});
        auto o = options(peer.port());
        o.starttls = policy::Starttls::Never;
        const auto d = deliver_all(shared_ctx(), o, {m});
        REQUIRE(d.tx.size() == 1);
        CHECK(d.tx[0].delivered(0));
        CHECK(d.tx[0].dsn_dropped);
    }
}

TEST_CASE("a silent server times out at the greeting", "[transaction][timeout]") {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket held(io);
    acceptor.async_accept(held, [](boost::system::error_code) {});
    auto o = options(acceptor.local_endpoint().port());
    o.timeout_scale = 0.001;  // 300 ms for the greeting
    const auto start = std::chrono::steady_clock::now();
    const auto facts = lab::run(io, [&]() -> asio::awaitable<deliver::SessionFacts> {
        auto [conn, f] = co_await deliver::Connection::open(shared_ctx(), o);
        co_return f;
    }());
    CHECK(facts.result.failure == Failure::Timeout);
    CHECK(facts.result.stage == deliver::Stage::Greeting);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("no listener: a connect failure naming the address", "[transaction]") {
    asio::io_context io;
    std::uint16_t port = 0;
    {
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    const auto facts = lab::run(io, [&]() -> asio::awaitable<deliver::SessionFacts> {
        auto [conn, f] = co_await deliver::Connection::open(shared_ctx(), options(port));
        co_return f;
    }());
    CHECK(facts.result.failure == Failure::Connect);
    CHECK(facts.result.text.find("127.0.0.1") != std::string::npos);
}

TEST_CASE("addresses are tried in the caller's order, IPv6 and IPv4", "[transaction]") {
    SECTION("a refused IPv6 address, then the IPv4 one that answers") {
        lab::Peer peer({});
        auto o = options(peer.port());
        o.starttls = policy::Starttls::Never;
        // The same port on ::1 has no listener (the peer binds 127.0.0.1 only).
        o.addresses = {asio::ip::make_address("::1"), asio::ip::make_address("127.0.0.1")};
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.address == asio::ip::make_address("127.0.0.1"));
        CHECK(d.tx.at(0).delivered(0));
    }
    SECTION("an IPv6 peer") {
        auto args = peer_with("mx.chain.pem", "mx.key");
        args.insert(args.end(), {"--listen", "::1"});
        lab::Peer peer(args);
        auto o = options(peer.port());
        o.addresses = {asio::ip::make_address("::1")};
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls_up);
        CHECK(d.tx.at(0).delivered(0));
    }
}

TEST_CASE("8BITMIME and SMTPUTF8 pass on when offered", "[transaction]") {
    lab::Peer peer({});
    auto o = plain_options(peer.port());
    auto m = message(kData);
    m.body = spool::BodyType::EightBitMime;
    m.smtputf8 = true;
    m.recipients = {{"jos\xC3\xA9@example.test", 0, {}}};
    const auto d = deliver_all(shared_ctx(), o, {m});
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].delivered(0));
    const auto options = peer.record()["messages"][0]["mail_options"].dump();
    CHECK(options.find("BODY=8BITMIME") != std::string::npos);
    CHECK(options.find("SMTPUTF8") != std::string::npos);
}

TEST_CASE("REQUIRETLS mail is not sent to a hop that does not offer it (5.7.30)", "[transaction]") {
    lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
    auto m = message(kData);
    m.requiretls = true;
    const auto d = deliver_all(shared_ctx(), options(peer.port()), {m});
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].result.failure == Failure::Local);
    CHECK(d.tx[0].result.reply.enhanced == "5.7.30");
    CHECK(peer.count("MAIL") == 0);
}

TEST_CASE("a message with a NUL byte never leaves (5.6.0)", "[transaction]") {
    lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
    using namespace std::string_literals;
    const std::string data = "Subject: nul\r\n\r\nhello\r\n\0.\r\nsmuggled\r\n"s;
    const auto d = deliver_all(shared_ctx(), options(peer.port()), {message(data)});
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].result.failure == Failure::Local);
    CHECK(d.tx[0].result.reply.code == 554);
    CHECK(d.tx[0].result.reply.enhanced == "5.6.0");
    CHECK(peer.count("MAIL") == 0);
}
