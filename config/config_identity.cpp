// config_identity: does tls.private_key belong to tls.certificate? The same
// question serve's SSL_CTX_check_private_key asks, answered at load time so
// that check-config and a reload refuse the pair with the key's position.
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdio>

#include "config/config_walk.hpp"
#include "relay/tls/openssl_ptr.hpp"

namespace chainmail::config::detail {

std::optional<IdentityProblem> identity_mismatch(const std::string& certificate,
                                                 const std::string& private_key) {
    tls::BioPtr cert_bio(BIO_new_file(certificate.c_str(), "r"));
    tls::X509Ptr cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)
                               : nullptr);
    ERR_clear_error();
    if (!cert)
        return IdentityProblem{"tls.certificate", "'" + certificate + "' holds no PEM certificate"};
    tls::BioPtr key_bio(BIO_new_file(private_key.c_str(), "r"));
    // No passphrase callback: serve cannot ask for one either.
    tls::EvpPkeyPtr key(
        key_bio ? PEM_read_bio_PrivateKey(
                      key_bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr)
                : nullptr);
    ERR_clear_error();
    if (!key)
        return IdentityProblem{"tls.private_key",
                               "'" + private_key +
                                   "' holds no PEM private key chainmail can read (a key "
                                   "protected by a passphrase cannot be used)"};
    const int ok = X509_check_private_key(cert.get(), key.get());
    ERR_clear_error();
    if (ok != 1)
        return IdentityProblem{"tls.private_key",
                               "the private key '" + private_key +
                                   "' does not belong to the certificate '" + certificate +
                                   "' (their public keys differ); serve would refuse to start"};
    return std::nullopt;
}

}  // namespace chainmail::config::detail
