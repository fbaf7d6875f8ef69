#include "relay/inbound/auth.hpp"

#include <crypt.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace chainmail::inbound {

namespace {

// A valid SHA-512 crypt hash of a random password, so that an unknown user
// takes the same time as a known one.
constexpr const char* kDummyHash =
    "$6$chainmailpad$YehA8mGE3pgwSeimWACB8WBrmSGpVJzpoimXRJWpA7xew4eWnfjd7mAa1Gtr42KGtwFjXExHJ"
    "iG1GsUSbfP9w.";

bool same(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
    return d == 0;
}

}  // namespace

UserDb UserDb::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot read users file");
    std::stringstream ss;
    ss << in.rdbuf();
    return from_text(ss.str(), path);
}

UserDb UserDb::from_text(std::string_view text, const std::string& name) {
    UserDb db;
    int lineno = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        std::size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos || colon + 1 == line.size())
            throw std::runtime_error(name + ":" + std::to_string(lineno) +
                                     ": expected user:crypt-hash");
        db.users_[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
    }
    return db;
}

bool UserDb::check(std::string_view user, std::string_view password) const {
    auto it = users_.find(std::string(user));
    const std::string& hash = it == users_.end() ? std::string(kDummyHash) : it->second;
    auto data = std::make_unique<crypt_data>();  // about 32 KB: not on the stack
    std::string pw(password);
    const char* out = crypt_r(pw.c_str(), hash.c_str(), data.get());
    // libxcrypt returns a string starting with '*' on failure, never the hash.
    bool ok = out && out[0] != '*' && same(out, hash);
    return ok && it != users_.end();
}

std::optional<SaslPlain> parse_sasl_plain(std::string_view d) {
    std::size_t a = d.find('\0');
    if (a == std::string_view::npos) return std::nullopt;
    std::size_t b = d.find('\0', a + 1);
    if (b == std::string_view::npos || d.find('\0', b + 1) != std::string_view::npos)
        return std::nullopt;
    SaslPlain p{std::string(d.substr(0, a)), std::string(d.substr(a + 1, b - a - 1)),
                std::string(d.substr(b + 1))};
    if (p.authcid.empty() || p.password.empty()) return std::nullopt;
    return p;
}

}  // namespace chainmail::inbound
