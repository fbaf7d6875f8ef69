// config_walk: internals shared by the loader and the validator (not a public
// interface). The loader records where each value stood, keyed by its path
// ("tls.certificate", "partners[2].fallback_next_hop"), so that cross-field
// checks made after the walk still point at the right line and column.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace chainmail::config::detail {

struct Walked {
    std::map<std::string, Position> positions;  // every key that the file set
    Position top;                               // the start of the file
    bool has(const std::string& path) const { return positions.count(path) != 0; }
    Position at(const std::string& path) const {
        auto it = positions.find(path);
        return it == positions.end() ? top : it->second;
    }
};

// Whether the PEM private key belongs to the first certificate of the PEM
// chain file: nullopt when it does, else which key is at fault and why.
struct IdentityProblem {
    std::string key;  // "tls.certificate" or "tls.private_key"
    std::string message;
};
std::optional<IdentityProblem> identity_mismatch(const std::string& certificate,
                                                 const std::string& private_key);

// Cross-field checks and file checks; appends to `errors`.
void validate(const Config& config, const Walked& walked, const LoadOptions& options,
              std::vector<ConfigError>& errors);

}  // namespace chainmail::config::detail
