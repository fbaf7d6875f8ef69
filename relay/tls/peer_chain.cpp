#include "relay/tls/peer_chain.hpp"

#include <cstdio>
#include <ctime>

#include "relay/tls/openssl_ptr.hpp"

namespace chainmail::tls {

namespace {

std::vector<std::string> dns_names(X509* cert) {
    std::vector<std::string> out;
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
        if (g->type != GEN_DNS) continue;
        const ASN1_IA5STRING* s = g->d.dNSName;
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    return out;
}

std::string iso_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

}  // namespace

std::string name_line(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || !name) return {};
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string negotiated_group(SSL* ssl) {
    const int nid = SSL_get_negotiated_group(ssl);
    if (nid == 0) return {};
    if (const char* n = SSL_group_to_name(ssl, nid)) return n;
    if (const char* n = OBJ_nid2sn(nid)) return n;
    return {};
}

std::vector<CertInfo> describe_chain(SSL* ssl) {
    std::vector<CertInfo> out;
    // The client side's peer chain includes the leaf (SSL_get_peer_cert_chain(3)).
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    if (!chain) return out;
    for (int i = 0; i < sk_X509_num(chain); ++i) {
        X509* c = sk_X509_value(chain, i);
        CertInfo info;
        info.subject = name_line(X509_get_subject_name(c));
        info.issuer = name_line(X509_get_issuer_name(c));
        info.dns_names = dns_names(c);
        info.not_after = iso_time(X509_get0_notAfter(c));
        info.cert_sha256 = cert_sha256(c);
        info.spki_sha256 = spki_sha256(c);
        out.push_back(std::move(info));
    }
    return out;
}

}  // namespace chainmail::tls
