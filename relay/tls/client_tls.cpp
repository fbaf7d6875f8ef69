#include "relay/tls/client_tls.hpp"

#include <openssl/err.h>
#include <openssl/sha.h>
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <mutex>
#include <stdexcept>

#include "policy/tls_facts.hpp"
#include "relay/tls/peer_chain.hpp"

namespace chainmail::tls {

using policy::AuthLabel;
using policy::AuthMethod;
using policy::DaneAuthority;
using policy::TlsVersion;

namespace {

// NCSC-NL TLS guidelines (2021), TLS 1.2 suites rated "good" then
// "sufficient"; TLS 1.3 suites are all "good" and keep OpenSSL's defaults.
constexpr const char* kNcscCiphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:"
    "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256:"
    "DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA";
// Opportunistic: any encryption beats plaintext (RFC 7435).
constexpr const char* kOpportunisticCiphers = "DEFAULT:!aNULL:@SECLEVEL=0";

int conn_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

ConnectionTls* conn_of(SSL* ssl) {
    return static_cast<ConnectionTls*>(SSL_get_ex_data(ssl, conn_index()));
}

// Records what the chain check found and lets the handshake finish, so that
// the verdict (and the peer's certificate, for the log) comes after it.
int verify_cb(int preverify_ok, X509_STORE_CTX* store) {
    if (preverify_ok) return 1;
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    ConnectionTls* conn = ssl ? conn_of(ssl) : nullptr;
    if (conn) {
        const int err = X509_STORE_CTX_get_error(store);
        if (conn->first_error == 0) {
            conn->first_error = err;
            conn->first_error_depth = X509_STORE_CTX_get_error_depth(store);
        }
        if (err == X509_V_ERR_DANE_NO_MATCH) conn->saw_dane_no_match = true;
        if (err == X509_V_ERR_HOSTNAME_MISMATCH) conn->saw_name_mismatch = true;
        if (err != X509_V_ERR_HOSTNAME_MISMATCH && err != X509_V_ERR_DANE_NO_MATCH)
            conn->saw_chain_error = true;
    }
    return 1;
}

// We own the session from here on (return 1). It is cached only once the
// connection's verdict is Ok: a TLS 1.2 session arrives during the handshake
// (kept pending), a TLS 1.3 ticket after it.
int new_session_cb(SSL* ssl, SSL_SESSION* session) {
    SslSessionPtr owned(session);
    ConnectionTls* conn = conn_of(ssl);
    if (!conn || !conn->cache || conn->cache_key.empty()) return 1;
    if (!conn->decided) {
        conn->pending = std::move(owned);
    } else if (conn->verified) {
        conn->cache->put(conn->cache_key, std::move(owned), conn->verified_facts);
    }
    return 1;
}

std::string hex(const std::uint8_t* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        s.push_back(digits[p[i] >> 4]);
        s.push_back(digits[p[i] & 15]);
    }
    return s;
}

// The OpenSSL set-up a check needs: MTA-STS verifies as PKIX does (RFC 8461
// §4.2), so the two share a profile and their sessions.
std::string_view setup_of(AuthMethod m) {
    switch (m) {
        case AuthMethod::None:
            return "none";
        case AuthMethod::Fingerprint:
            return "fingerprint";
        case AuthMethod::Pkix:
        case AuthMethod::MtaSts:
            return "pkix";
        case AuthMethod::Dane:
            return "dane";
    }
    return "none";
}

// The verification profile, hashed: a session is resumed only under the same one.
std::string profile_of(const TlsRequirement& req) {
    const policy::Check& c = req.check;
    std::string p = std::string(setup_of(c.auth)) + "|" +
                    std::to_string(static_cast<int>(c.min_version)) + "|" +
                    std::to_string(static_cast<int>(req.ciphers)) + "|" + req.dane_base + "|";
    std::vector<std::string> names = c.names;
    std::sort(names.begin(), names.end());
    for (const auto& n : names) p += n + ",";
    p += "|";
    for (const auto& f : c.fingerprints) p += hex(f.data(), f.size()) + ",";
    p += "|";
    for (const auto& t : c.tlsa) {
        p += std::to_string(t.usage) + " " + std::to_string(t.selector) + " " +
             std::to_string(t.mtype) + " " + hex(t.data.data(), t.data.size()) + ",";
    }
    std::uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(p.data()), p.size(), md);
    return hex(md, 16);
}

int min_proto(TlsVersion v) {
    switch (v) {
        case TlsVersion::Unknown:
        case TlsVersion::Ssl3:
        case TlsVersion::Tls10:
            return TLS1_VERSION;
        case TlsVersion::Tls11:
            return TLS1_1_VERSION;
        case TlsVersion::Tls12:
            return TLS1_2_VERSION;
        case TlsVersion::Tls13:
            return TLS1_3_VERSION;
    }
    return TLS1_2_VERSION;
}

// SSL_version() as policy's TlsVersion.
TlsVersion version_of(int v) {
    switch (v) {
        case SSL3_VERSION:
            return TlsVersion::Ssl3;
        case TLS1_VERSION:
            return TlsVersion::Tls10;
        case TLS1_1_VERSION:
            return TlsVersion::Tls11;
        case TLS1_2_VERSION:
            return TlsVersion::Tls12;
        case TLS1_3_VERSION:
            return TlsVersion::Tls13;
        default:
            return TlsVersion::Unknown;
    }
}

}  // namespace

std::string_view to_string(VerifyResult r) {
    switch (r) {
        case VerifyResult::Ok:
            return "ok";
        case VerifyResult::HandshakeFailed:
            return "handshake failed";
        case VerifyResult::VersionTooLow:
            return "version too low";
        case VerifyResult::ChainError:
            return "certificate chain error";
        case VerifyResult::NameMismatch:
            return "certificate name mismatch";
        case VerifyResult::FingerprintMismatch:
            return "fingerprint mismatch";
        case VerifyResult::TlsaMismatch:
            return "TLSA mismatch";
        case VerifyResult::NoUsableTlsa:
            return "no usable TLSA record";
    }
    return "unknown";
}

std::string requirement_profile(const TlsRequirement& req) {
    return profile_of(req);
}

std::array<std::uint8_t, 32> cert_sha256(X509* cert) {
    std::array<std::uint8_t, 32> md{};
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), md.data(), &n);
    return md;
}

std::array<std::uint8_t, 32> spki_sha256(X509* cert) {
    std::array<std::uint8_t, 32> md{};
    X509_PUBKEY* pk = X509_get_X509_PUBKEY(cert);
    const int len = i2d_X509_PUBKEY(pk, nullptr);
    if (len <= 0) return md;
    std::vector<unsigned char> der(static_cast<std::size_t>(len));
    unsigned char* out = der.data();
    i2d_X509_PUBKEY(pk, &out);
    SHA256(der.data(), der.size(), md.data());
    return md;
}

ClientTls::ClientTls(const std::string& ca_file, std::size_t cache_entries)
    : ctx_(boost::asio::ssl::context::tls_client), cache_(cache_entries) {
    SSL_CTX* ctx = ctx_.native_handle();
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
        throw std::runtime_error("cannot load the CA file " + ca_file);
    }
    if (SSL_CTX_dane_enable(ctx) <= 0) throw std::runtime_error("OpenSSL has no DANE support");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    conn_index();
}

ClientTls::~ClientTls() = default;

std::unique_ptr<ConnectionTls> ClientTls::prepare(SSL* ssl, const TlsRequirement& req,
                                                  const std::string& sni,
                                                  const std::string& destination) {
    auto conn = std::make_unique<ConnectionTls>();
    conn->ssl = ssl;
    conn->req = req;
    conn->cache = &cache_;
    SSL_set_ex_data(ssl, conn_index(), conn.get());

    boost::system::error_code ec;
    boost::asio::ip::make_address(sni, ec);
    // RFC 7672 §8.1: SNI carries the MX host name (never an address literal).
    if (!sni.empty() && ec) SSL_set_tlsext_host_name(ssl, sni.c_str());

    const policy::Check& check = req.check;
    SSL_set_min_proto_version(ssl, min_proto(check.min_version));
    std::string ciphers = req.ciphers == CipherGrade::Ncsc ? kNcscCiphers : kOpportunisticCiphers;
    // OpenSSL 3 refuses TLS 1.0/1.1 above security level 0.
    if (check.min_version < TlsVersion::Tls12 && req.ciphers == CipherGrade::Ncsc)
        ciphers += ":@SECLEVEL=0";
    SSL_set_cipher_list(ssl, ciphers.c_str());
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

    switch (check.auth) {
        case AuthMethod::None:
        case AuthMethod::Fingerprint:
            break;
        case AuthMethod::Pkix:
        case AuthMethod::MtaSts: {  // RFC 8461 §4.2: PKIX validation of the MX host name
            // A reference name ".example.nl" matches any subdomain (OpenSSL
            // X509_check_host); wildcards only as a whole left-most label.
            const std::vector<std::string> names =
                check.names.empty() ? std::vector<std::string>{sni} : check.names;
            bool first = true;
            for (const auto& n : names) {
                if (first) {
                    SSL_set1_host(ssl, n.c_str());
                    first = false;
                } else {
                    SSL_add1_host(ssl, n.c_str());
                }
            }
            break;
        }
        case AuthMethod::Dane: {
            const std::string& base = req.dane_base.empty() ? sni : req.dane_base;
            if (SSL_dane_enable(ssl, base.c_str()) <= 0) return nullptr;
            // RFC 7672 §3.1.3: DANE-EE(3) ignores names and validity dates.
            SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
            for (const auto& n : check.names) SSL_add1_host(ssl, n.c_str());
            for (const auto& t : check.tlsa) {
                // RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable in SMTP.
                if (t.usage != 2 && t.usage != 3) continue;
                if (SSL_dane_tlsa_add(ssl, t.usage, t.selector, t.mtype, t.data.data(),
                                      t.data.size()) > 0)
                    ++conn->usable_tlsa;
            }
            ERR_clear_error();  // malformed records are simply unusable
            break;
        }
    }

    if (!destination.empty()) {
        conn->cache_key = destination + "|" + profile_of(req);
        if (SslSessionPtr s = cache_.take(conn->cache_key, conn->resumed_facts)) {
            SSL_set_session(ssl, s.get());
        }
    }
    return conn;
}

namespace {

void judge(ConnectionTls& conn, TlsFacts& f, X509* peer) {
    SSL* ssl = conn.ssl;
    const policy::Check& check = conn.req.check;
    const bool resumed_verified = f.resumed && conn.resumed_facts.auth != AuthLabel::None;
    if (peer) {
        f.cert_sha256 = cert_sha256(peer);
        f.spki_sha256 = spki_sha256(peer);
    }
    if (const char* name = SSL_get0_peername(ssl)) f.matched_name = name;
    switch (check.auth) {
        case AuthMethod::None:
            f.result = VerifyResult::Ok;
            f.auth = AuthLabel::None;
            return;
        case AuthMethod::Fingerprint: {
            if (!peer) {
                f.result = VerifyResult::FingerprintMismatch;
                f.detail = "the server sent no certificate";
                return;
            }
            if (policy::pinned(check.fingerprints, f.cert_sha256, f.spki_sha256)) {
                f.result = VerifyResult::Ok;
                f.auth = AuthLabel::Fingerprint;
                return;
            }
            const auto c = *f.cert_sha256;
            const auto k = *f.spki_sha256;
            f.result = VerifyResult::FingerprintMismatch;
            f.detail = "certificate sha256:" + hex(c.data(), c.size()) +
                       ", public key sha256:" + hex(k.data(), k.size());
            return;
        }
        case AuthMethod::Pkix:
        case AuthMethod::MtaSts:
        case AuthMethod::Dane:
            break;
    }
    if (check.auth == AuthMethod::Dane && conn.usable_tlsa == 0) {
        f.result = VerifyResult::NoUsableTlsa;
        f.detail = "no TLSA record with usage 2 or 3 and a supported matching type";
        return;
    }
    if (resumed_verified) {
        // The session was cached only after the same profile verified it.
        f.result = VerifyResult::Ok;
        f.auth = conn.resumed_facts.auth;
        f.chain_ok = f.auth != AuthLabel::DaneEe;
        f.name_ok = f.auth != AuthLabel::DaneEe;
        if (f.auth == AuthLabel::DaneEe) f.dane = DaneAuthority::Ee;
        if (f.auth == AuthLabel::DaneTa) f.dane = DaneAuthority::Ta;
        return;
    }
    const long vr = SSL_get_verify_result(ssl);
    f.chain_ok = !conn.saw_chain_error && !conn.saw_dane_no_match &&
                 (vr == X509_V_OK || vr == X509_V_ERR_HOSTNAME_MISMATCH);
    f.name_ok = !conn.saw_name_mismatch && !f.matched_name.empty();
    if (vr == X509_V_OK && !conn.saw_chain_error && !conn.saw_name_mismatch &&
        !conn.saw_dane_no_match) {
        f.result = VerifyResult::Ok;
        f.auth = AuthLabel::Pkix;
        if (check.auth == AuthMethod::Dane) {
            std::uint8_t usage = 0, selector = 0, mtype = 0;
            const unsigned char* data = nullptr;
            size_t dlen = 0;
            if (SSL_get0_dane_authority(ssl, nullptr, nullptr) < 0 ||
                SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen) < 0) {
                f.result = VerifyResult::TlsaMismatch;
                f.detail = "no TLSA record authenticated the peer";
                return;
            }
            f.dane = usage == 3 ? DaneAuthority::Ee : DaneAuthority::Ta;
            f.dane_matched = policy::TlsaRecord{usage, selector, mtype, {data, data + dlen}};
            f.auth = usage == 3 ? AuthLabel::DaneEe : AuthLabel::DaneTa;
            if (usage == 3) f.chain_ok = false;  // DANE-EE checks no chain
        }
        return;
    }
    const int err = conn.first_error != 0 ? conn.first_error : static_cast<int>(vr);
    if (conn.saw_dane_no_match) {
        f.result = VerifyResult::TlsaMismatch;
        f.detail = X509_verify_cert_error_string(X509_V_ERR_DANE_NO_MATCH);
    } else if (conn.saw_chain_error || (err != X509_V_ERR_HOSTNAME_MISMATCH && err != 0)) {
        f.result = VerifyResult::ChainError;
        f.detail = std::string(X509_verify_cert_error_string(err)) + " (depth " +
                   std::to_string(conn.first_error_depth) + ")";
    } else {
        f.result = VerifyResult::NameMismatch;
        f.detail = X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH);
    }
}

}  // namespace

TlsFacts evaluate(ConnectionTls& conn) {
    TlsFacts f;
    SSL* ssl = conn.ssl;
    f.version = version_of(SSL_version(ssl));
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) f.cipher = SSL_CIPHER_get_name(c);
    f.group = negotiated_group(ssl);
    if (conn.req.describe_chain) f.chain = describe_chain(ssl);
    f.resumed = SSL_session_reused(ssl) == 1;
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (peer) {
        f.peer_subject = name_line(X509_get_subject_name(peer));
        f.peer_issuer = name_line(X509_get_issuer_name(peer));
    }
    judge(conn, f, peer);
    conn.decided = true;
    conn.verified = f.result == VerifyResult::Ok;
    if (conn.verified) {
        conn.verified_facts = CachedFacts{f.auth, f.peer_subject, f.peer_issuer};
        if (conn.pending && conn.cache && !conn.cache_key.empty())
            conn.cache->put(conn.cache_key, std::move(conn.pending), conn.verified_facts);
    }
    conn.pending.reset();
    return f;
}

TlsFacts handshake_failure(ConnectionTls& conn, unsigned long openssl_error,
                           const std::string& fallback_text) {
    TlsFacts f;
    conn.decided = true;
    conn.pending.reset();
    f.result = VerifyResult::HandshakeFailed;
    if (openssl_error != 0) {
        switch (ERR_GET_REASON(openssl_error)) {
            case SSL_R_UNSUPPORTED_PROTOCOL:
            case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
            case SSL_R_NO_PROTOCOLS_AVAILABLE:
            case SSL_R_WRONG_SSL_VERSION:
            case SSL_R_VERSION_TOO_LOW:
                f.result = VerifyResult::VersionTooLow;
                break;
            default:
                break;
        }
        char buf[256];
        ERR_error_string_n(openssl_error, buf, sizeof buf);
        f.detail = buf;
    } else {
        f.detail = fallback_text;
    }
    return f;
}

}  // namespace chainmail::tls
