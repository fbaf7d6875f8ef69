#include "relay/tls/server_tls.hpp"

#include <openssl/err.h>
#include <stdexcept>

#include "relay/tls/openssl_ptr.hpp"
#include "relay/tls/ticket_keys.hpp"

namespace chainmail::tls {

namespace {

// NCSC-NL TLS guidelines, TLS 1.2: ECDHE with AES-GCM or ChaCha20 ("good"),
// DHE with the same and ECDHE with AES-CBC-SHA2 ("sufficient").
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256";
constexpr const char* kTls13Suites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1:X448";

[[noreturn]] void fail(const std::string& what) {
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    throw std::runtime_error(what + ": " + buf);
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_server_context(const config::TlsIdentity& id) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) fail("SSL_CTX_new");
    SSL_CTX* c = ctx.get();
    if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) fail("TLS minimum version");
    if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) fail("TLS 1.2 cipher list");
    if (SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1) fail("TLS 1.3 cipher suites");
    if (SSL_CTX_set1_groups_list(c, kGroups) != 1) fail("TLS groups");
    SSL_CTX_set_dh_auto(c, 1);
    SSL_CTX_set_options(
        c, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    // Resumption by stateless tickets only (RFC 5077, RFC 8446 §4.6.1): clients that
    // reconnect skip the full handshake, and no session state is kept per client.
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    enable_session_tickets(c);
    // A ticket lives one rotation period, the time its key is surely still kept.
    SSL_CTX_set_timeout(c, static_cast<long>(kTicketLifetime.count()));
    static constexpr unsigned char kSidContext[] = "chainmail-inbound";
    SSL_CTX_set_session_id_context(c, kSidContext, sizeof kSidContext - 1);
    if (SSL_CTX_use_certificate_chain_file(c, id.certificate.c_str()) != 1)
        fail("tls.certificate " + id.certificate);
    if (SSL_CTX_use_PrivateKey_file(c, id.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("tls.private_key " + id.private_key);
    if (SSL_CTX_check_private_key(c) != 1) fail("tls.private_key does not match tls.certificate");
    // Asio's context takes ownership of the handle.
    return std::make_shared<boost::asio::ssl::context>(ctx.release());
}

NegotiatedTls negotiated(const SSL* ssl) {
    NegotiatedTls n;
    if (!ssl) return n;
    n.version = SSL_get_version(ssl);
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    if (cipher) {
        n.cipher = SSL_CIPHER_get_name(cipher);
        n.bits = SSL_CIPHER_get_bits(cipher, nullptr);
    }
    return n;
}

}  // namespace chainmail::tls
