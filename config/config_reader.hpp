// config_reader: typed reading of YAML nodes for the loader (internal).
// Each reader checks one node, records an error with its position when the
// node is not what the schema wants, and returns false or nullopt.
#pragma once

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_walk.hpp"

namespace chainmail::config::detail {

using Keys = std::initializer_list<std::string_view>;

// One key and its value, or one list item (then key and value are the item).
struct Field {
    std::string path;  // "partners[0].tls"
    YAML::Node key;
    YAML::Node value;
};

std::string join(const std::string& path, std::string_view key);
std::string_view type_name(const YAML::Node& n);
std::string list_of(Keys keys);
const Field* find(const std::vector<Field>& fields, std::string_view name);

class Reader {
  public:
    Reader(std::string file, detail::Walked& walked, std::vector<ConfigError>& errors)
        : file_(std::move(file)), walked_(walked), errors_(errors) {
        walked_.top = {file_, 1, 1};
    }

    Position at(const YAML::Node& n) const {
        auto m = n.Mark();
        if (m.line < 0) return {file_, 1, 1};
        return {file_, m.line + 1, m.column + 1};
    }
    // An empty value ("key:") has its mark on the next line: point at the key.
    Position at(const Field& f) const { return f.value.IsNull() ? at(f.key) : at(f.value); }
    void error(Position p, std::string message) {
        errors_.push_back({std::move(p), std::move(message)});
    }
    void error(const Field& f, const std::string& message) {
        error(at(f), f.path + ": " + message);
    }

    // The entries of a mapping in file order; unknown and repeated keys are
    // errors. An empty `allowed` accepts any key (header names).
    std::vector<Field> fields(const Field& f, Keys allowed);
    std::vector<Field> items(const Field& f);
    bool str(const Field& f, std::string& out);
    bool boolean(const Field& f, bool& out);
    bool duration(const Field& f, bool zero_turns_off, Duration& out);
    bool size(const Field& f, std::uint64_t& out);
    bool one_of(const Field& f, Keys names, std::string& out);
    std::vector<std::string> strings(const Field& f);
    std::vector<std::string> domains(const Field& f, bool allow_leading_dot);
    std::optional<Endpoint> ip_endpoint(const Field& f);
    std::optional<NextHop> next_hop(const Field& f);
    std::string describe(const YAML::Node& n) const;
    void unknown(Position p, const std::string& parent, const std::string& name, Keys allowed);

    template <typename T>
    bool integer(const Field& f, long long lo, long long hi, T& out) {
        std::string s;
        if (!str(f, s)) return false;
        long long v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || p != s.data() + s.size()) {
            error(f, "expected a whole number, found " + describe(f.value));
            return false;
        }
        if (v < lo || v > hi) {
            error(f, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                         ", found " + s);
            return false;
        }
        out = static_cast<T>(v);
        return true;
    }

  protected:
    std::string file_;
    detail::Walked& walked_;
    std::vector<ConfigError>& errors_;
};

}  // namespace chainmail::config::detail
