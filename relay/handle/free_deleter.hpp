// free_deleter: the deleter a C library's handle gets in a std::unique_ptr,
// calling the library's own free function once, and never on null. The
// aliases live with their library: OpenSSL's in relay/tls/openssl_ptr.hpp,
// libunbound's in relay/resolve/unbound_ptr.hpp.
#pragma once

namespace chainmail::handle {

template <auto Free>
struct FreeDeleter {
    template <typename T>
    void operator()(T* p) const noexcept {
        if (p) Free(p);
    }
};

}  // namespace chainmail::handle
