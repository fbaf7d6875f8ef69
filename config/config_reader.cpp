// config_reader: the typed readers of config_reader.hpp: mappings with
// unknown and duplicate key detection, lists, and each scalar type.
#include "config/config_reader.hpp"

#include <algorithm>
#include <set>

namespace chainmail::config::detail {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1u : 0u)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string_view type_name(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null:
            return "nothing";
        case YAML::NodeType::Scalar:
            return "a single value";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Undefined:
            return "nothing";
    }
    return "nothing";
}

std::string list_of(Keys keys) {
    std::string s;
    for (auto k : keys) s += (s.empty() ? "" : ", ") + std::string(k);
    return s;
}

const Field* find(const std::vector<Field>& fields, std::string_view name) {
    for (const auto& f : fields)
        if (f.key.Scalar() == name) return &f;
    return nullptr;
}

// The entries of a mapping in file order; unknown and repeated keys are
// errors. An empty `allowed` accepts any key (header names).
std::vector<Field> Reader::fields(const Field& f, Keys allowed) {
    std::vector<Field> out;
    if (!f.value.IsMap()) {
        error(f, std::string("expected a mapping, found ") + std::string(type_name(f.value)));
        return out;
    }
    std::set<std::string> seen;
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
        const YAML::Node k = it->first;  // a copy: `it->` yields a temporary
        if (!k.IsScalar()) {
            error(at(k), (f.path.empty() ? "" : f.path + ": ") + "a key must be a plain name");
            continue;
        }
        const std::string& name = k.Scalar();
        std::string path = join(f.path, name);
        if (!seen.insert(name).second) {
            error(at(k), path + ": duplicate key (each key may appear once in a mapping)");
            continue;
        }
        if (allowed.size() != 0 &&
            std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            unknown(at(k), f.path, name, allowed);
            continue;
        }
        Field field{path, k, it->second};
        walked_.positions[path] = at(field);
        out.push_back(std::move(field));
    }
    return out;
}

std::vector<Field> Reader::items(const Field& f) {
    std::vector<Field> out;
    if (!f.value.IsSequence()) {
        error(f, std::string("expected a list, found ") + std::string(type_name(f.value)));
        return out;
    }
    std::size_t i = 0;
    for (const auto& item : f.value) {
        Field e{f.path + "[" + std::to_string(i++) + "]", item, item};
        walked_.positions[e.path] = at(e);
        out.push_back(std::move(e));
    }
    return out;
}

bool Reader::str(const Field& f, std::string& out) {
    if (!f.value.IsScalar()) {
        error(f, std::string("expected a string, found ") + std::string(type_name(f.value)));
        return false;
    }
    out = f.value.Scalar();
    return true;
}

bool Reader::boolean(const Field& f, bool& out) {
    // A quoted "true" is a string: only plain YAML booleans are accepted.
    bool v = false;
    if (!f.value.IsScalar() || f.value.Tag() != "?" || !YAML::convert<bool>::decode(f.value, v)) {
        error(f, "expected true or false, found " + describe(f.value));
        return false;
    }
    out = v;
    return true;
}

bool Reader::duration(const Field& f, bool zero_turns_off, Duration& out) {
    std::string s;
    if (!str(f, s)) return false;
    auto d = parse_duration(s);
    if (!d) {
        error(f, "bad duration '" + s +
                     "': expected a number with s, m, h or d, e.g. 30s, 5m, 4h, 5d" +
                     (zero_turns_off ? ", or 0 to turn it off" : ""));
        return false;
    }
    if (d->count() == 0 && !zero_turns_off) {
        error(f, "must be longer than 0");
        return false;
    }
    out = *d;
    return true;
}

bool Reader::size(const Field& f, std::uint64_t& out) {
    std::string s;
    if (!str(f, s)) return false;
    auto v = parse_size(s);
    if (!v || *v == 0) {
        error(f, "bad size '" + s + "': expected bytes or a number with KB, MB or GB, e.g. 50MB");
        return false;
    }
    out = *v;
    return true;
}

bool Reader::one_of(const Field& f, Keys names, std::string& out) {
    if (!str(f, out)) return false;
    if (std::find(names.begin(), names.end(), out) == names.end()) {
        error(f, "unknown value '" + out + "': expected one of " + list_of(names));
        return false;
    }
    return true;
}

std::vector<std::string> Reader::strings(const Field& f) {
    std::vector<std::string> out;
    for (const auto& e : items(f)) {
        std::string s;
        if (str(e, s)) out.push_back(std::move(s));
    }
    return out;
}

std::vector<std::string> Reader::domains(const Field& f, bool allow_leading_dot) {
    std::vector<std::string> out;
    for (const auto& e : items(f)) {
        std::string s;
        if (!str(e, s)) continue;
        auto d = parse_domain(s, allow_leading_dot);
        if (!d) {
            error(e, "bad domain '" + s + "': expected a DNS name such as example.nl" +
                         (allow_leading_dot ? " or .example.nl (every subdomain)" : "") +
                         "; no spaces or @, IDNs as xn--");
            continue;
        }
        out.push_back(std::move(*d));
    }
    return out;
}

std::optional<Endpoint> Reader::ip_endpoint(const Field& f) {
    std::string s;
    if (!str(f, s)) return std::nullopt;
    auto e = parse_endpoint(s);
    bool v6 = false;
    std::array<std::uint8_t, 16> b{};
    if (!e || !parse_ip(e->host, v6, b)) {
        error(f, "bad address '" + s +
                     "': expected IP:PORT or [IPv6]:PORT, e.g. 0.0.0.0:25 or [::]:587");
        return std::nullopt;
    }
    return e;
}

std::optional<NextHop> Reader::next_hop(const Field& f) {
    std::string s;
    if (!str(f, s)) return std::nullopt;
    auto h = parse_next_hop(s);
    if (!h)
        error(f, "bad next hop '" + s +
                     "': expected \"[host]:port\" (that host, no MX lookup), \"domain:port\" or "
                     "\"domain\" (the MX of domain)");
    return h;
}

std::string Reader::describe(const YAML::Node& n) const {
    return n.IsScalar() ? "'" + n.Scalar() + "'" : std::string(type_name(n));
}

void Reader::unknown(Position p, const std::string& parent, const std::string& name, Keys allowed) {
    // Suggest only near misses: one typo per three letters.
    std::string best;
    std::size_t best_d = std::max<std::size_t>(1, name.size() / 3) + 1;
    for (auto k : allowed) {
        auto d = edit_distance(name, k);
        if (d < best_d) best_d = d, best = std::string(k);
    }
    std::string msg = join(parent, name) + ": unknown key";
    if (!best.empty())
        msg += "; did you mean '" + best + "'?";
    else
        msg += "; allowed here: " + list_of(allowed);
    error(std::move(p), std::move(msg));
}

}  // namespace chainmail::config::detail
