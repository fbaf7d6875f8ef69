// openssl_ptr: the one place where OpenSSL objects get their deleters.
// Everything else holds them in these unique_ptrs; no *_free calls elsewhere.
// Add a line here when a new type is needed (libunbound: resolve/unbound_ptr.hpp).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <memory>

#include "relay/handle/free_deleter.hpp"

namespace chainmail::tls {

using SslCtxPtr = std::unique_ptr<SSL_CTX, handle::FreeDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, handle::FreeDeleter<SSL_free>>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, handle::FreeDeleter<SSL_SESSION_free>>;
using X509Ptr = std::unique_ptr<X509, handle::FreeDeleter<X509_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, handle::FreeDeleter<X509_STORE_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, handle::FreeDeleter<EVP_PKEY_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, handle::FreeDeleter<EVP_MD_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, handle::FreeDeleter<GENERAL_NAMES_free>>;
using BioPtr = std::unique_ptr<BIO, handle::FreeDeleter<BIO_free_all>>;

}  // namespace chainmail::tls
