// Users file, SASL PLAIN and the Received: header.
#include <catch2/catch.hpp>

#include "relay/inbound/auth.hpp"
#include "relay/inbound/received_header.hpp"

using namespace chainmail::inbound;

TEST_CASE("users file: crypt(3) hashes checked with crypt_r") {
    // "secret" under SHA-512 crypt, as `openssl passwd -6 -salt saltsalt secret` prints it.
    auto db = UserDb::from_text(
        "# "
        "users\nalice:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT"
        "0Y77vwPZN.Pq.H91p5hVO1\n\n",
        "users");
    CHECK(db.size() == 1);
    CHECK(db.check("alice", "secret"));
    CHECK_FALSE(db.check("alice", "Secret"));
    CHECK_FALSE(db.check("bob", "secret"));
    CHECK_FALSE(db.check("", ""));
    CHECK_THROWS(UserDb::from_text("nocolon\n", "users"));
    CHECK_THROWS(UserDb::from_text("a:\n", "users"));
}

TEST_CASE("SASL PLAIN message (RFC 4616)") {
    auto p = parse_sasl_plain(std::string("\0alice\0secret", 13));
    REQUIRE(p);
    CHECK(p->authcid == "alice");
    CHECK(p->password == "secret");
    CHECK_FALSE(parse_sasl_plain("alice"));
    CHECK_FALSE(parse_sasl_plain(std::string("\0alice", 6)));
    CHECK_FALSE(parse_sasl_plain(std::string("\0\0secret", 8)));
    CHECK_FALSE(parse_sasl_plain(std::string("a\0b\0c\0d", 7)));
}

TEST_CASE("Received: names the client, its TLS and login, our id and the date") {
    ReceivedInfo r;
    r.helo = "client.gemeente.nl";
    r.client_ip = "192.0.2.7";
    r.tls_version = "TLSv1.3";
    r.tls_cipher = "TLS_AES_256_GCM_SHA384";
    r.tls_bits = 256;
    r.auth_user = "alice";
    r.by_host = "relay.example.nl";
    r.queue_id = "01JD0000000000000000000000";
    r.for_rcpt = "b@z.nl";
    r.unix_ms = 1795348800123;  // 2026-11-22 12:00:00 UTC
    std::string h = received_header(r);
    CHECK(h.rfind("Received: from client.gemeente.nl ([192.0.2.7])\r\n", 0) == 0);
    CHECK(h.find("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384") != std::string::npos);
    CHECK(h.find("with ESMTPSA id 01JD0000000000000000000000") != std::string::npos);
    CHECK(h.find("for <b@z.nl>; Sun, 22 Nov 2026 12:00:00 +0000\r\n") != std::string::npos);
    r.helo = "evil)\r\nX-Injected: 1 (";
    CHECK(received_header(r).find("\r\nX-Injected") == std::string::npos);
}

TEST_CASE("Message-ID: found in the header, folded or not; absent means nullopt") {
    CHECK(find_message_id("Subject: x\r\nMessage-ID: <a@b.nl>\r\n\r\nbody\r\n") == "<a@b.nl>");
    CHECK(find_message_id("message-id:<a@b.nl>  \r\n\r\n") == "<a@b.nl>");
    // RFC 5322 §2.2.3: folded onto the next line, still one field.
    CHECK(find_message_id("Message-ID:\r\n <long@b.nl>\r\nSubject: x\r\n\r\n") == "<long@b.nl>");
    CHECK(find_message_id("Message-ID:\r\n\r\n") == "");  // there, but empty: not added again
    CHECK_FALSE(find_message_id("Subject: x\r\n\r\nMessage-ID: <in@body.nl>\r\n"));
    CHECK_FALSE(find_message_id("Subject: x\r\nX-Message-ID: <a@b.nl>\r\n\r\n"));
    CHECK_FALSE(find_message_id(""));
    CHECK(make_message_id("01JD0000000000000000000000", "relay.example.nl") ==
          "<01JD0000000000000000000000@relay.example.nl>");
}
