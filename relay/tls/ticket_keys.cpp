#include "relay/tls/ticket_keys.hpp"
#include "relay/clock/wall_clock.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace chainmail::tls {

namespace {

TicketKey fresh_key(std::chrono::system_clock::time_point now) {
    TicketKey k;
    if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
        RAND_bytes(k.aes.data(), static_cast<int>(k.aes.size())) != 1 ||
        RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1)
        throw std::runtime_error("no random bytes for a TLS ticket key");
    k.created = now;
    return k;
}

// Sets up `ctx` and `hctx` with `key` (AES-256-CBC, HMAC-SHA256, as OpenSSL's own
// default tickets do); false when OpenSSL refuses, which means "no ticket".
bool load(const TicketKey& key, const unsigned char* iv, EVP_CIPHER_CTX* ctx, EVP_MAC_CTX* hctx,
          bool seal) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(
            OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.hmac.data()), key.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(hctx, params) != 1) return false;
    const int ok = seal ? EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv)
                        : EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv);
    return ok == 1;
}

// OpenSSL's ticket callback: 1 = use this key, 2 = accepted but issue a new
// ticket, 0 = no ticket / full handshake, -1 = error (we never abort a handshake
// over a ticket).
int ticket_callback(SSL*, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* ctx,
                    EVP_MAC_CTX* hctx, int enc) {
    const auto now = clock::now();
    try {
        if (enc == 1) {
            const TicketKey key = process_ticket_keys().for_sealing(now);
            std::memcpy(key_name, key.name.data(), key.name.size());
            if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return 0;
            return load(key, iv, ctx, hctx, true) ? 1 : 0;
        }
        auto found = process_ticket_keys().for_opening(key_name, now);
        if (!found) return 0;
        if (!load(found->first, iv, ctx, hctx, false)) return 0;
        switch (found->second) {
            case TicketKeyRing::Open::Current:
                return 1;
            case TicketKeyRing::Open::Previous:
                return 2;
        }
        return 0;
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

TicketKeyRing::TicketKeyRing(std::chrono::seconds period) : period_(period) {}

void TicketKeyRing::rotate_if_due(std::chrono::system_clock::time_point now) {
    if (current_ && now - current_->created < period_) return;
    // After two periods without a handshake the old key is too old to keep too.
    if (current_ && now - current_->created < 2 * period_)
        previous_ = current_;
    else
        previous_.reset();
    current_ = fresh_key(now);
}

TicketKey TicketKeyRing::for_sealing(std::chrono::system_clock::time_point now) {
    std::lock_guard lock(mutex_);
    rotate_if_due(now);
    return *current_;
}

std::optional<std::pair<TicketKey, TicketKeyRing::Open>> TicketKeyRing::for_opening(
    const unsigned char* name, std::chrono::system_clock::time_point now) {
    std::lock_guard lock(mutex_);
    rotate_if_due(now);
    auto same = [&](const std::optional<TicketKey>& k) {
        return k && std::equal(k->name.begin(), k->name.end(), name);
    };
    if (same(current_)) return std::pair{*current_, Open::Current};
    if (same(previous_)) return std::pair{*previous_, Open::Previous};
    return std::nullopt;
}

TicketKeyRing& process_ticket_keys() {
    static TicketKeyRing ring;
    return ring;
}

void enable_session_tickets(SSL_CTX* ctx) {
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_callback) != 1)
        throw std::runtime_error("TLS session ticket callback refused");
}

}  // namespace chainmail::tls
