#include "relay/log/log_files.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace chainmail::log {

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view strip_gz(std::string_view s) {
    if (s.size() > 3 && s.substr(s.size() - 3) == ".gz") s.remove_suffix(3);
    return s;
}

struct Entry {
    int group;        // 0 dateext, 1 numbered, 2 the live file
    std::string key;  // dateext: the date text; numbered: N zero-padded
    std::string name;
};

}  // namespace

std::vector<std::string> order_rotated(std::string_view base, std::vector<std::string> entries) {
    std::vector<Entry> keep;
    for (std::string& e : entries) {
        std::string_view n = e;
        if (n.size() < base.size() || n.substr(0, base.size()) != base) continue;
        std::string_view rest = n.substr(base.size());
        if (rest.empty()) {
            keep.push_back({2, "", std::move(e)});
            continue;
        }
        rest = strip_gz(rest);
        if (rest.size() > 1 && rest[0] == '.' && all_digits(rest.substr(1))) {
            std::string num(rest.substr(1));
            // Highest N is oldest: sort by the negated number through padding.
            std::string key(20 - std::min<std::size_t>(num.size(), 20), '0');
            key += num;
            for (char& c : key) c = static_cast<char>('9' - (c - '0'));
            keep.push_back({1, key, std::move(e)});
        } else if (rest.size() > 1 && rest[0] == '-' &&
                   std::all_of(rest.begin() + 1, rest.end(), [](char c) {
                       return (c >= '0' && c <= '9') || c == '-' || c == '_';
                   })) {
            keep.push_back({0, std::string(rest.substr(1)), std::move(e)});
        }
    }
    std::sort(keep.begin(), keep.end(), [](const Entry& a, const Entry& b) {
        if (a.group != b.group) return a.group < b.group;
        if (a.key != b.key) return a.key < b.key;
        return a.name < b.name;  // NAME.1 before NAME.1.gz: never both, but stable
    });
    std::vector<std::string> out;
    for (Entry& k : keep) out.push_back(std::move(k.name));
    return out;
}

std::vector<std::string> rotated_set(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    const std::string base = p.filename().string();
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string());
    std::vector<std::string> out;
    for (const std::string& n : order_rotated(base, std::move(names)))
        out.push_back(p.has_parent_path() ? (dir / n).string() : n);
    if (out.empty()) out.push_back(path);
    return out;
}

}  // namespace chainmail::log
