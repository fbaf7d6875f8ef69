// auth: the users file (user:crypt(3)-hash lines, '#' comments) and the
// SASL PLAIN message (RFC 4616). Passwords are checked with crypt_r; an
// unknown user costs as much as a wrong password.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chainmail::inbound {

class UserDb {
  public:
    // Throws std::runtime_error with FILE:LINE for an unreadable file or a bad line.
    static UserDb load(const std::string& path);
    static UserDb from_text(std::string_view text, const std::string& name);

    bool check(std::string_view user, std::string_view password) const;
    std::size_t size() const { return users_.size(); }

  private:
    std::unordered_map<std::string, std::string> users_;  // user -> hash
};

struct SaslPlain {
    std::string authzid;
    std::string authcid;
    std::string password;
};

// RFC 4616 §2: [authzid] NUL authcid NUL passwd, already base64-decoded.
std::optional<SaslPlain> parse_sasl_plain(std::string_view decoded);

}  // namespace chainmail::inbound
