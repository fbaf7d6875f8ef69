// Requirements on STARTTLS and peer verification, against a real receiving
// server (smtp_peer.py) with certificates made for the test.
#include <catch2/catch.hpp>

#include "deliver_fixture.hpp"

using namespace chainmail;
using namespace fixture;
using deliver::Failure;
using policy::AuthLabel;
using tls::VerifyResult;

namespace {

// What every refusal under a required level must leave behind: no MAIL, no DATA.
void require_nothing_sent(const lab::Peer& peer) {
    CHECK(peer.count("MAIL") == 0);
    CHECK(peer.count("RCPT") == 0);
    CHECK(peer.count("DATA") == 0);
    CHECK(peer.record()["messages"].empty());
}

policy::TlsaRecord tlsa(std::uint8_t u, std::uint8_t s, std::uint8_t m, const std::string& hex) {
    return {u, s, m, lab::unhex(hex)};
}

}  // namespace

TEST_CASE("encrypt: a delivery goes out only inside TLS", "[starttls]") {
    lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
    const auto d = deliver_one(shared_ctx(), options(peer.port()));
    REQUIRE(d.facts.result.ok());
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].delivered(0));
    REQUIRE(d.facts.tls);
    CHECK(d.facts.tls->auth == AuthLabel::None);
    const auto msgs = peer.record()["messages"];
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]["tls"] == true);
    // RFC 7672 §8.1: SNI names the MX host.
    CHECK(peer.record()["sni"] == nlohmann::json::array({"mx.example.test"}));
    // RFC 5321 §4.5.2: the line starting with a dot arrives unchanged.
    CHECK(msgs[0]["data"].get<std::string>().find("\r\n.a line with a dot\r\n") !=
          std::string::npos);
}

TEST_CASE("encrypt: a server without STARTTLS gets no MAIL and no DATA", "[starttls]") {
    lab::Peer peer({});
    const auto d = deliver_one(shared_ctx(), options(peer.port()));
    CHECK(d.facts.result.failure == Failure::TlsNotOffered);
    CHECK(d.tx.empty());
    require_nothing_sent(peer);
}

TEST_CASE("encrypt: a STARTTLS-stripping middlebox gets no MAIL", "[starttls]") {
    lab::Peer peer({"--strip-starttls", "--cert", lab::pki().path("mx.chain.pem"), "--key",
                    lab::pki().path("mx.key")});
    const auto d = deliver_one(shared_ctx(), options(peer.port()));
    CHECK(d.facts.result.failure == Failure::TlsNotOffered);
    require_nothing_sent(peer);
}

TEST_CASE("replies injected behind the 220 to STARTTLS are discarded (RFC 3207 §4.2)",
          "[starttls][injection]") {
    // What a man in the middle would slip in: a fake reply to the EHLO that
    // follows the handshake, offering REQUIRETLS the real server lacks.
    auto args = peer_with("mx.chain.pem", "mx.key");
    args.insert(args.end(), {"--inject-after-starttls", "250-evil.example\\r\\n250 REQUIRETLS"});
    lab::Peer peer(args);
    auto o = options(peer.port());
    const auto starttls = GENERATE(policy::Starttls::Required, policy::Starttls::IfOffered);
    o.starttls = starttls;
    o.retry_plaintext = true;
    const auto d = deliver_one(shared_ctx(), o);
    REQUIRE(d.facts.result.ok());
    CHECK(d.facts.discarded_after_starttls ==
          std::string("250-evil.example\r\n250 REQUIRETLS\r\n").size());
    CHECK(d.facts.tls_up);
    CHECK_FALSE(d.facts.plaintext_fallback);
    // EHLO again inside TLS, and only its reply counts.
    CHECK(peer.count("EHLO") == 2);
    CHECK_FALSE(d.facts.extensions.requiretls);
    CHECK(d.facts.extensions.esmtp);
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].delivered(0));
    const auto msgs = peer.record()["messages"];
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]["tls"] == true);
}

TEST_CASE("may: without STARTTLS the delivery goes in plaintext", "[starttls]") {
    lab::Peer peer({});
    auto o = options(peer.port());
    o.starttls = policy::Starttls::IfOffered;
    const auto d = deliver_one(shared_ctx(), o);
    REQUIRE(d.facts.result.ok());
    CHECK_FALSE(d.facts.tls);
    REQUIRE(d.tx.size() == 1);
    CHECK(d.tx[0].delivered(0));
    CHECK(peer.record()["messages"][0]["tls"] == false);
}

TEST_CASE("fingerprint: certificate or public-key digest", "[starttls][fingerprint]") {
    lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
    auto o = options(peer.port());
    o.requirement.check.auth = policy::AuthMethod::Fingerprint;
    SECTION("certificate digest matches") {
        o.requirement.check.fingerprints = {lab::digest32(lab::pki().digest("tlsa201", "mx.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->auth == AuthLabel::Fingerprint);
        CHECK(peer.record()["messages"].size() == 1);
    }
    SECTION("public-key digest matches, among others") {
        o.requirement.check.fingerprints = {lab::digest32(lab::pki().digest("tlsa201", "self.crt")),
                                            lab::digest32(lab::pki().digest("tlsa311", "mx.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->auth == AuthLabel::Fingerprint);
    }
    SECTION("no digest matches: TLS failure, nothing sent") {
        o.requirement.check.fingerprints = {
            lab::digest32(lab::pki().digest("tlsa201", "self.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        CHECK(d.facts.result.failure == Failure::TlsFailed);
        REQUIRE(d.facts.tls);
        CHECK(d.facts.tls->result == VerifyResult::FingerprintMismatch);
        CHECK(d.facts.tls_up);
        require_nothing_sent(peer);
    }
}

TEST_CASE("pkix: chain to the CA file and a matching name", "[starttls][pkix]") {
    auto o = options(0);
    o.requirement.check.auth = policy::AuthMethod::Pkix;
    o.requirement.check.names = {"mx.example.test"};
    SECTION("chain through an intermediate, exact name") {
        lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
        o.port = peer.port();
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->auth == AuthLabel::Pkix);
        CHECK(d.facts.tls->chain_ok);
        CHECK(d.facts.tls->name_ok);
        CHECK(d.facts.tls->matched_name == "mx.example.test");
        CHECK(d.facts.tls->peer_issuer.find("Test Intermediate CA") != std::string::npos);
        CHECK(peer.record()["messages"].size() == 1);
    }
    SECTION("secure: \".example.test\" accepts a subdomain") {
        lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
        o.port = peer.port();
        o.requirement.check.names = {"example.nl", ".example.test"};
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->auth == AuthLabel::Pkix);
    }
    SECTION("wrong name: name mismatch, nothing sent") {
        lab::Peer peer(peer_with("wrong.chain.pem", "wrong.key"));
        o.port = peer.port();
        const auto d = deliver_one(shared_ctx(), o);
        CHECK(d.facts.result.failure == Failure::TlsFailed);
        CHECK(d.facts.tls->result == VerifyResult::NameMismatch);
        CHECK(d.facts.tls->chain_ok);
        CHECK_FALSE(d.facts.tls->name_ok);
        require_nothing_sent(peer);
    }
    SECTION("self-signed: chain error with the X509 reason") {
        lab::Peer peer(peer_with("self.chain.pem", "self.key"));
        o.port = peer.port();
        const auto d = deliver_one(shared_ctx(), o);
        CHECK(d.facts.result.failure == Failure::TlsFailed);
        CHECK(d.facts.tls->result == VerifyResult::ChainError);
        CHECK(d.facts.tls->detail.find("self-signed") != std::string::npos);
        CHECK_FALSE(d.facts.tls->chain_ok);
        require_nothing_sent(peer);
    }
}

TEST_CASE("dane: TLSA records decide, per RFC 7672", "[starttls][dane]") {
    auto o = options(0);
    o.requirement.check.auth = policy::AuthMethod::Dane;
    o.requirement.dane_base = "mx.example.test";
    o.requirement.check.names = {"mx.example.test"};
    SECTION("DANE-EE 3 1 1 matches an expired self-signed cert with another name") {
        lab::Peer peer(peer_with("old.chain.pem", "old.key"));
        o.port = peer.port();
        o.requirement.check.tlsa = {tlsa(3, 1, 1, lab::pki().digest("tlsa311", "old.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->auth == AuthLabel::DaneEe);
        CHECK(d.facts.tls->dane == policy::DaneAuthority::Ee);
        CHECK(peer.record()["messages"].size() == 1);
    }
    SECTION("DANE-EE mismatch: TLS failure, nothing sent") {
        lab::Peer peer(peer_with("old.chain.pem", "old.key"));
        o.port = peer.port();
        o.requirement.check.tlsa = {tlsa(3, 1, 1, lab::pki().digest("tlsa311", "mx.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        CHECK(d.facts.result.failure == Failure::TlsFailed);
        CHECK(d.facts.tls->result == VerifyResult::TlsaMismatch);
        require_nothing_sent(peer);
    }
    SECTION("DANE-TA 2 0 1 of the test CA with a matching name") {
        lab::Peer peer(peer_with("mx.full.pem", "mx.key"));
        o.port = peer.port();
        o.requirement.check.tlsa = {tlsa(2, 0, 1, lab::pki().digest("tlsa201", "ca.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->auth == AuthLabel::DaneTa);
    }
    SECTION("DANE-TA 2 0 1 of the test CA with the wrong name") {
        lab::Peer peer(peer_with("mx.full.pem", "mx.key"));
        o.port = peer.port();
        o.requirement.dane_base = "mx.example.nl";
        o.requirement.check.names = {"example.nl"};
        o.requirement.check.tlsa = {tlsa(2, 0, 1, lab::pki().digest("tlsa201", "ca.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        CHECK(d.facts.result.failure == Failure::TlsFailed);
        CHECK(d.facts.tls->result == VerifyResult::NameMismatch);
        require_nothing_sent(peer);
    }
    SECTION("PKIX-TA/PKIX-EE records only: not usable, never PKIX instead") {
        lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
        o.port = peer.port();
        o.requirement.check.tlsa = {tlsa(1, 1, 1, lab::pki().digest("tlsa311", "mx.crt"))};
        const auto d = deliver_one(shared_ctx(), o);
        CHECK(d.facts.result.failure == Failure::TlsFailed);
        CHECK(d.facts.tls->result == VerifyResult::NoUsableTlsa);
        require_nothing_sent(peer);
    }
}

TEST_CASE("TLS versions are reported and the minimum holds", "[starttls][version]") {
    SECTION("TLS 1.3 by default") {
        lab::Peer peer(peer_with("mx.chain.pem", "mx.key"));
        const auto d = deliver_one(shared_ctx(), options(peer.port()));
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->version == policy::TlsVersion::Tls13);
        CHECK(d.facts.tls->cipher.rfind("TLS_", 0) == 0);
    }
    SECTION("TLS 1.2 with a good cipher when the peer stops there") {
        auto args = peer_with("mx.chain.pem", "mx.key");
        args.insert(args.end(), {"--tls-max", "1.2"});
        lab::Peer peer(args);
        const auto d = deliver_one(shared_ctx(), options(peer.port()));
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->version == policy::TlsVersion::Tls12);
        CHECK(d.facts.tls->cipher.rfind("ECDHE-ECDSA-", 0) == 0);
    }
    SECTION("minimum 1.2 against a TLS 1.1 peer: version too low, nothing sent") {
        auto args = peer_with("mx.chain.pem", "mx.key");
        args.insert(args.end(), {"--tls-max", "1.1"});
        lab::Peer peer(args);
        const auto d = deliver_one(shared_ctx(), options(peer.port()));
        CHECK(d.facts.result.failure == Failure::TlsFailed);
        REQUIRE(d.facts.tls);
        INFO(d.facts.tls->detail);
        CHECK(d.facts.tls->result == VerifyResult::VersionTooLow);
        CHECK_FALSE(d.facts.tls_up);
        require_nothing_sent(peer);
    }
    SECTION("may with no minimum accepts the TLS 1.1 peer") {
        auto args = peer_with("mx.chain.pem", "mx.key");
        args.insert(args.end(), {"--tls-max", "1.1"});
        lab::Peer peer(args);
        auto o = options(peer.port());
        o.starttls = policy::Starttls::IfOffered;
        o.requirement.check.min_version = policy::TlsVersion::Tls10;
        o.requirement.ciphers = tls::CipherGrade::Opportunistic;
        const auto d = deliver_one(shared_ctx(), o);
        REQUIRE(d.facts.result.ok());
        CHECK(d.facts.tls->version == policy::TlsVersion::Tls11);
        CHECK(peer.record()["messages"][0]["tls"] == true);
    }
}

TEST_CASE("a second connection resumes the TLS session", "[starttls][resume]") {
    const auto version = GENERATE(as<std::string>{}, "1.3", "1.2");
    auto args = peer_with("old.chain.pem", "old.key");
    args.insert(args.end(), {"--tls-max", version});
    lab::Peer peer(args);
    tls::ClientTls ctx(lab::pki().path("ca.crt"));
    auto o = options(peer.port());
    o.requirement.check.auth = policy::AuthMethod::Dane;
    o.requirement.check.tlsa = {tlsa(3, 1, 1, lab::pki().digest("tlsa311", "old.crt"))};
    const auto first = deliver_one(ctx, o);
    REQUIRE(first.facts.result.ok());
    CHECK_FALSE(first.facts.tls->resumed);
    CHECK(ctx.cache().size() == 1);
    const auto second = deliver_one(ctx, o);
    REQUIRE(second.facts.result.ok());
    CHECK(second.facts.tls->resumed);
    CHECK(second.facts.tls->auth == AuthLabel::DaneEe);
    SECTION("but never under another verification profile") {
        auto other = o;
        other.requirement.check.tlsa.push_back(
            tlsa(3, 0, 1, lab::pki().digest("tlsa201", "old.crt")));
        const auto third = deliver_one(ctx, other);
        REQUIRE(third.facts.result.ok());
        CHECK_FALSE(third.facts.tls->resumed);
    }
}
