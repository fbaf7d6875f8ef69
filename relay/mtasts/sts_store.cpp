#include "relay/mtasts/sts_store.hpp"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "relay/spool/durable_file.hpp"

namespace chainmail::mtasts {
namespace {

// A domain as a file name: only what a validated DNS name holds.
bool safe_name(const std::string& d) {
    if (d.empty() || d.size() > 253 || d.front() == '.') return false;
    for (char c : d)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
            return false;
    return true;
}

bool header_number(std::string_view line, std::string_view key, std::int64_t& out) {
    if (line.substr(0, key.size()) != key) return false;
    line.remove_prefix(key.size());
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), out);
    return ec == std::errc{} && p == line.data() + line.size();
}

}  // namespace

std::string encode_entry(const policy::StsCached& e, const std::string& body) {
    std::string out = "id: " + e.id + "\nfetched: " + std::to_string(e.fetched_s) +
                      "\nexpires: " + std::to_string(e.expires_s) + "\n\n";
    out += body;
    return out;
}

std::optional<policy::StsCached> decode_entry(const std::string& text) {
    const std::size_t sep = text.find("\n\n");
    if (sep == std::string::npos) return std::nullopt;
    std::istringstream head(text.substr(0, sep));
    policy::StsCached e;
    std::string line;
    bool id = false, fetched = false, expires = false;
    while (std::getline(head, line)) {
        if (line.rfind("id: ", 0) == 0) {
            e.id = line.substr(4);
            id = !e.id.empty();
        } else if (header_number(line, "fetched: ", e.fetched_s)) {
            fetched = true;
        } else if (header_number(line, "expires: ", e.expires_s)) {
            expires = true;
        } else {
            return std::nullopt;
        }
    }
    if (!id || !fetched || !expires) return std::nullopt;
    // The body is parsed again: a file is only ever as good as the policy in it.
    policy::StsParse p = policy::parse_sts_policy(std::string_view(text).substr(sep + 2));
    if (!p.policy) return std::nullopt;
    e.policy = std::move(*p.policy);
    return e;
}

std::string StsStore::path(const std::string& domain) const {
    return dir_ + "/" + domain;
}

std::optional<policy::StsCached> StsStore::load(const std::string& domain) const {
    if (!safe_name(domain)) return std::nullopt;
    std::ifstream in(path(domain), std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return decode_entry(text.str());
}

std::error_code StsStore::save(const std::string& domain, const policy::StsCached& entry,
                               const std::string& body) const {
    if (!safe_name(domain)) return std::make_error_code(std::errc::invalid_argument);
    return spool::write_durably(dir_, domain, encode_entry(entry, body));
}

std::error_code StsStore::drop(const std::string& domain) const {
    if (!safe_name(domain)) return std::make_error_code(std::errc::invalid_argument);
    return spool::remove_durably(dir_, domain);
}

}  // namespace chainmail::mtasts
