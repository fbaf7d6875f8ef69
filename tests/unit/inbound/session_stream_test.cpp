// The inbound session on an in-memory stream: the dialogue end to end, and
// what a client can do wrong (split writes, pipelining too early, closing
// mid-DATA, falling silent), each a scenario that runs in milliseconds.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <boost/asio/ssl/context.hpp>
#include <catch2/catch.hpp>
#include <filesystem>

#include "relay/tls/openssl_ptr.hpp"
#include "session_fixture.hpp"

using namespace session_fixture;

namespace {

constexpr std::string_view kMessage =
    "Subject: test\r\nMessage-ID: <1@client.test>\r\n\r\n..a line with a dot\r\nbody\r\n";

// EHLO, MAIL, RCPT, DATA, the message, QUIT: each reply checked.
asio::awaitable<void> whole_transaction(Client& c) {
    co_await c.expect("220 mx.relay.test ESMTP chainmail\r\n");
    co_await c.send("EHLO client.test\r\n");
    co_await c.expect(kEhloReply);
    co_await c.send("MAIL FROM:<alice@client.test>\r\n");
    co_await c.expect("250 2.1.0 Ok\r\n");
    co_await c.send("RCPT TO:<bob@example.test>\r\n");
    co_await c.expect("250 2.1.5 Ok\r\n");
    co_await c.send("DATA\r\n");
    co_await c.expect("354 End data with <CR><LF>.<CR><LF>\r\n");
    const std::string text = std::string(kMessage) + ".\r\n";
    co_await c.send(text);
    co_await c.expect("250 2.0.0 Ok: queued as ...");
    co_await c.send("QUIT\r\n");
    co_await c.expect("221 2.0.0 Bye\r\n");
    co_await c.expect_closed();
}

}  // namespace

TEST_CASE("a whole transaction is queued, however the reads are cut", "[session]") {
    Scenario s;
    std::size_t read_size = 0;
    SECTION("whole writes") {
        read_size = 0;
    }
    SECTION("one byte per read") {
        read_size = 1;
    }
    SECTION("seven bytes per read") {
        read_size = 7;
    }
    s.run(whole_transaction, read_size);
    REQUIRE(s.spool.committed.size() == 1);
    const auto& m = s.spool.committed.front();
    CHECK(m.env.sender == "alice@client.test");
    REQUIRE(m.env.recipients.size() == 1);
    CHECK(m.env.recipients.front().address == "bob@example.test");
    CHECK(m.env.client_ip == "127.0.0.1");
    CHECK(m.env.client_helo == "client.test");
    CHECK(m.env.message_id == "<1@client.test>");
    // RFC 5321 §4.4: Received prepended; §4.5.2: the stuffed dot removed.
    CHECK(m.message.rfind("Received: from client.test", 0) == 0);
    CHECK(m.message.find("\r\n\r\n.a line with a dot\r\nbody\r\n") != std::string::npos);
    CHECK(s.session_ended());
}

TEST_CASE("a command split across writes is read whole", "[session]") {
    Scenario s;
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.reply();
        co_await c.send("EH");
        co_await c.send("LO client.test\r");
        co_await c.send("\n");
        co_await c.expect(kEhloReply);
        co_await c.send("NO");
        co_await c.send("OP\r");
        co_await c.send("\n");
        co_await c.expect("250 2.0.0 Ok\r\n");
        co_await c.send("QUIT\r\n");
        co_await c.expect("221 2.0.0 Bye\r\n");
    });
    CHECK(s.session_ended());
}

TEST_CASE("PIPELINING: MAIL, RCPT and DATA in one write are answered in order (RFC 2920)",
          "[session][pipelining]") {
    Scenario s;
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.hello();
        co_await c.send(
            "MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@example.test>\r\n"
            "RCPT TO:<carol@example.test>\r\nDATA\r\n");
        co_await c.expect("250 2.1.0 Ok\r\n");
        co_await c.expect("250 2.1.5 Ok\r\n");
        co_await c.expect("250 2.1.5 Ok\r\n");
        co_await c.expect("354 End data with <CR><LF>.<CR><LF>\r\n");
        co_await c.send("Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n");
        co_await c.expect("250 2.0.0 Ok: queued as ...");
        co_await c.expect("221 2.0.0 Bye\r\n");
    });
    REQUIRE(s.spool.committed.size() == 1);
    CHECK(s.spool.committed.front().env.recipients.size() == 2);
}

TEST_CASE("extra bytes behind DATA: message text before 354 is refused, nothing queued",
          "[session][pipelining]") {
    // Read whole, the text is in the session's buffer behind the DATA line.
    // Read one byte at a time, it is still in the stream (the kernel's buffer
    // of a socket) when the DATA line is complete: only input_waiting() sees it.
    for (std::size_t read_size : {0, 1}) {
        INFO("read size " << read_size);
        Scenario s;
        s.run(
            [](Client& c) -> asio::awaitable<void> {
                co_await c.hello();
                // SMTP smuggling sends the text without waiting for 354.
                co_await c.send(
                    "MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                    "Subject: x\r\n\r\nhi\r\n.\r\n");
                co_await c.expect("250 2.1.0 Ok\r\n");
                co_await c.expect("250 2.1.5 Ok\r\n");
                co_await c.expect("554 5.5.0 Error: SMTP protocol synchronization\r\n");
                co_await c.expect_closed();
            },
            read_size);
        CHECK(s.spool.committed.empty());
        CHECK(s.session_ended());
    }
}

TEST_CASE("a client that closes in the middle of DATA: nothing queued, the session ends",
          "[session][data]") {
    Scenario s;
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.hello();
        co_await c.envelope();
        co_await c.send("DATA\r\n");
        co_await c.expect("354 ...");
        co_await c.send("Subject: x\r\n\r\nhalf a mess");
        c.close();
    });
    CHECK(s.spool.committed.empty());
    CHECK(s.session_ended());
}

TEST_CASE("a silent client gets 421 4.4.2 when a deadline passes", "[session][deadline]") {
    Scenario s;
    s.cfg.limits.command_timeout = std::chrono::seconds(1);
    s.cfg.limits.data_timeout = std::chrono::seconds(1);
    s.options.deadline_scale = 0.05;  // 50 ms
    const auto started = std::chrono::steady_clock::now();
    SECTION("waiting for a command") {
        s.run([](Client& c) -> asio::awaitable<void> {
            co_await c.hello();
            co_await c.expect("421 4.4.2 mx.relay.test Error: timeout exceeded\r\n");
            co_await c.expect_closed();
        });
    }
    SECTION("in the middle of DATA: nothing queued") {
        s.run([](Client& c) -> asio::awaitable<void> {
            co_await c.hello();
            co_await c.envelope();
            co_await c.send("DATA\r\n");
            co_await c.reply();
            co_await c.send("Subject: x\r\n\r\nand then nothing");
            co_await c.expect("421 4.4.2 mx.relay.test Error: timeout exceeded\r\n");
            co_await c.expect_closed();
        });
    }
    CHECK(s.spool.committed.empty());
    CHECK(s.session_ended());
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("a client that stops reading: the 421 cannot go out either, the session ends",
          "[session][deadline]") {
    Scenario s;
    s.cfg.limits.command_timeout = std::chrono::seconds(1);
    s.options.deadline_scale = 0.005;  // 5 ms for a command, 150 ms for a reply
    const auto started = std::chrono::steady_clock::now();
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.expect("220 ...");
        c.stream().capacity(0);  // from now on the session's writes wait forever
        co_await c.expect_closed();
    });
    CHECK(s.session_ended());
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("a bare LF in a command line ends the session with 550 (SMTP smuggling)", "[session]") {
    Scenario s;
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.reply();
        co_await c.send("EHLO client.test\n");
        co_await c.expect("550 5.5.2 Error: bare <LF> received\r\n");
        co_await c.expect_closed();
    });
    CHECK(s.session_ended());
}

TEST_CASE("a NUL byte in DATA refuses the message (5.6.0); the session goes on",
          "[session][data]") {
    Scenario s;
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.reply();
        co_await c.send("HELO client.test\r\n");
        co_await c.reply();
        co_await c.envelope();
        co_await c.send("DATA\r\n");
        co_await c.reply();
        const std::string with_nul("Subject: x\r\n\r\na\r\n\0.\r\n.\r\n", 24);
        co_await c.send(with_nul);
        co_await c.expect("550 5.6.0 Error: message contains NUL characters\r\n");
        co_await c.send("NOOP\r\n");
        co_await c.expect("250 2.0.0 Ok\r\n");
    });
    CHECK(s.spool.committed.empty());
}

TEST_CASE("a spool that cannot store: 452, and the message is not acknowledged",
          "[session][data]") {
    Scenario s;
    s.spool.fail = std::make_error_code(std::errc::no_space_on_device);
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.hello();
        co_await c.send("MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
        co_await c.reply();
        co_await c.reply();
        co_await c.reply();
        co_await c.send("Subject: x\r\n\r\nhi\r\n.\r\n");
        co_await c.expect("452 4.3.1 Insufficient system storage, try again later\r\n");
    });
    CHECK(s.spool.committed.empty());
}

TEST_CASE("a client outside relay_from.networks may not relay", "[session]") {
    Scenario s;
    s.cfg.relay_from.networks = {*config::parse_cidr("192.0.2.0/24")};
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.hello();
        co_await c.send("MAIL FROM:<alice@client.test>\r\n");
        co_await c.reply();
        co_await c.send("RCPT TO:<bob@example.test>\r\n");
        co_await c.expect("554 5.7.1 <bob@example.test>: Relay access denied\r\n");
    });
}

TEST_CASE("server shutdown: a session waiting for a command gets 421 4.3.2", "[session]") {
    Scenario s;
    s.run([&s](Client& c) -> asio::awaitable<void> {
        co_await c.hello();
        for (auto* session : s.core->sessions) session->begin_shutdown();
        co_await c.expect("421 4.3.2 mx.relay.test Service shutting down\r\n");
        co_await c.expect_closed();
    });
    CHECK(s.session_ended());
}

TEST_CASE("a client that talks before the greeting is refused (pregreet)", "[session]") {
    Scenario s;
    s.options.greet_delay = std::chrono::milliseconds(20);
    s.run([](Client& c) -> asio::awaitable<void> {
        co_await c.send("EHLO eager.test\r\n");
        co_await c.expect("554 5.5.1 mx.relay.test Error: talking before the greeting\r\n");
        co_await c.expect_closed();
    });
    CHECK(s.session_ended());
}

namespace {

// A self-signed certificate for mx.relay.test, made in-process, as PEM files
// in a temporary directory for the server's own loader.
struct TestIdentity {
    std::filesystem::path dir;
    config::TlsIdentity id;
    TestIdentity() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "cm-session-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
        dir = tmpl;
        tls::EvpPkeyPtr key(EVP_EC_gen("P-256"));
        tls::X509Ptr cert(X509_new());
        if (!key || !cert) throw std::runtime_error("cannot make a test key");
        X509_set_version(cert.get(), 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
        X509_set_pubkey(cert.get(), key.get());
        X509_NAME* name = X509_get_subject_name(cert.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("mx.relay.test"), -1, -1,
                                   0);
        X509_set_issuer_name(cert.get(), name);
        if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
            throw std::runtime_error("cannot sign the test certificate");
        id.certificate = (dir / "cert.pem").string();
        id.private_key = (dir / "key.pem").string();
        tls::BioPtr c(BIO_new_file(id.certificate.c_str(), "w"));
        tls::BioPtr k(BIO_new_file(id.private_key.c_str(), "w"));
        if (!c || !k || !PEM_write_bio_X509(c.get(), cert.get()) ||
            !PEM_write_bio_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
            throw std::runtime_error("cannot write the test certificate");
    }
    ~TestIdentity() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    TestIdentity(const TestIdentity&) = delete;
    TestIdentity& operator=(const TestIdentity&) = delete;
};

}  // namespace

TEST_CASE("bytes pipelined behind STARTTLS are discarded, never answered inside TLS",
          "[session][starttls]") {
    // CVE-2011-0411, RFC 3207 §5: a command injected in clear text after
    // STARTTLS would otherwise be executed as if it came through TLS.
    const TestIdentity identity;
    Scenario s;
    s.cfg.tls = identity.id;
    s.tls = inbound::make_server_state(s.cfg)->tls;
    asio::ssl::context client_ctx(asio::ssl::context::tls_client);
    client_ctx.set_verify_mode(asio::ssl::verify_none);  // the server's identity is not the point
    s.run([&client_ctx](Client& c) -> asio::awaitable<void> {
        co_await c.expect("220 ...");
        co_await c.send("EHLO client.test\r\n");
        co_await c.expect(
            "250-mx.relay.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-STARTTLS\r\n"
            "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n");
        co_await c.send("STARTTLS\r\nRSET\r\n");
        co_await c.expect("220 2.0.0 Ready to start TLS\r\n");
        const bool up = co_await c.start_tls(client_ctx);
        REQUIRE(up);
        // The first reply inside TLS answers our NOOP, not the injected RSET.
        co_await c.send("NOOP\r\n");
        co_await c.expect("250 2.0.0 Ok\r\n");
        // RFC 3207 §4.2: the EHLO before TLS is forgotten.
        co_await c.send("MAIL FROM:<alice@client.test>\r\n");
        co_await c.expect("503 5.5.1 Error: send HELO/EHLO first\r\n");
        co_await c.send("EHLO client.test\r\n");
        co_await c.expect(
            "250-mx.relay.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-REQUIRETLS\r\n"
            "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n");
        co_await c.send("MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
        co_await c.expect("250 2.1.0 Ok\r\n");
        co_await c.expect("250 2.1.5 Ok\r\n");
        co_await c.expect("354 ...");
        co_await c.send("Subject: x\r\n\r\nhi\r\n.\r\n");
        co_await c.expect("250 2.0.0 Ok: queued as ...");
        co_await c.send("QUIT\r\n");
        co_await c.expect("221 2.0.0 Bye\r\n");
    });
    REQUIRE(s.spool.committed.size() == 1);
    CHECK(s.spool.committed.front().env.client_tls.rfind("TLSv1.3 ", 0) == 0);
    CHECK(s.session_ended());
}
