#include "relay/bounce/ndr_template.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relay/bounce/ndr_reason.hpp"

namespace chainmail::bounce {
namespace {

constexpr std::size_t kWrapColumn = 76;

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        }
        i += n;
    }
    return true;
}

// Characters, not bytes, so that wrapping counts "ë" once.
std::size_t width(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

bool known_name(std::string_view name) {
    auto in = [&](auto& list) {
        return std::find(std::begin(list), std::end(list), name) != std::end(list);
    };
    return in(kReasonTemplates) || in(kFrameTemplates);
}

bool known_placeholder(std::string_view name) {
    return std::find(std::begin(kPlaceholders), std::end(kPlaceholders), name) !=
           std::end(kPlaceholders);
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t eol = text.find('\n', pos);
        std::string_view line =
            text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        if (eol == std::string_view::npos) break;
        pos = eol + 1;
    }
    return lines;
}

// One line with its placeholders filled in; false when it is to be left out.
bool fill_line(std::string_view line, const Placeholders& values, std::string& out) {
    out.clear();
    std::size_t pos = 0;
    while (pos < line.size()) {
        std::size_t open = line.find('{', pos);
        std::size_t close = open == std::string_view::npos ? open : line.find('}', open);
        if (close == std::string_view::npos) {
            out += line.substr(pos);
            break;
        }
        out += line.substr(pos, open - pos);
        auto it = values.find(line.substr(open + 1, close - open - 1));
        if (it == values.end() || it->second.empty()) return false;
        for (char c : it->second) out += (c == '\n' || c == '\r') ? ' ' : c;
        pos = close + 1;
    }
    return true;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Wraps one logical line at spaces; continuation lines get `indent`.
void wrap(std::string_view line, std::string_view indent, std::string& out) {
    std::size_t col = 0;
    bool first = true;
    std::size_t pos = 0;
    while (pos < line.size()) {
        std::size_t end = line.find(' ', pos);
        if (end == std::string_view::npos) end = line.size();
        // A single space between digits does not break: a phone number
        // ("010 123 45 67") or a date and time stays on one line.
        while (end + 1 < line.size() && end > pos && is_digit(line[end - 1]) &&
               is_digit(line[end + 1])) {
            end = line.find(' ', end + 1);
            if (end == std::string_view::npos) end = line.size();
        }
        std::string_view word = line.substr(pos, end - pos);
        if (!first && col + 1 + width(word) > kWrapColumn) {
            out += '\n';
            out += indent;
            col = width(indent);
        } else if (!first) {
            out += ' ';
            ++col;
        }
        out += word;
        col += width(word);
        first = false;
        pos = end + 1;
        while (pos < line.size() && line[pos] == ' ') ++pos;  // runs of spaces count once
    }
    out += '\n';
}

}  // namespace

NdrTemplates NdrTemplates::shipped() {
    NdrTemplates t;
    for (const ShippedTemplate& s : shipped_templates()) {
        std::string_view key = s.file.substr(0, s.file.size() - 4);  // drop ".txt"
        t.texts_.emplace(std::string(key), std::string(s.text));
    }
    return t;
}

NdrTemplates NdrTemplates::load(const std::string& dir, std::vector<std::string>& errors) {
    NdrTemplates t = shipped();
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) {
        errors.push_back(dir + ": " + ec.message());
        return t;
    }
    std::vector<std::filesystem::path> files;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->path().extension() == ".txt") files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
        std::string stem = path.stem().string();  // "name.lang"
        std::size_t dot = stem.rfind('.');
        std::string name = dot == std::string::npos ? stem : stem.substr(0, dot);
        if (dot == std::string::npos || dot + 1 == stem.size() || !known_name(name)) {
            errors.push_back(path.string() + ": not a template name (<name>.<lang>.txt)");
            continue;
        }
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) {
            errors.push_back(path.string() + ": cannot be read");
            continue;
        }
        if (std::string err = validate(name, text.str()); !err.empty()) {
            errors.push_back(path.string() + ": " + err);
            continue;
        }
        t.texts_[stem] = text.str();
    }
    return t;
}

std::string NdrTemplates::validate(std::string_view name, std::string_view text) {
    if (!valid_utf8(text)) return "not UTF-8";
    for (std::size_t pos = text.find('{'); pos != std::string_view::npos;
         pos = text.find('{', pos + 1)) {
        std::size_t close = text.find('}', pos);
        if (close == std::string_view::npos) break;
        std::string_view ph = text.substr(pos + 1, close - pos - 1);
        if (!known_placeholder(ph)) return "unknown placeholder {" + std::string(ph) + "}";
    }
    bool is_reason = std::find(std::begin(kReasonTemplates), std::end(kReasonTemplates), name) !=
                     std::end(kReasonTemplates);
    if (is_reason && text.find(std::string("\n") + std::string(kIctMarker)) == std::string::npos) {
        return "a reason template needs a line " + std::string(kIctMarker) +
               " before the details for the IT department";
    }
    return "";
}

std::string_view NdrTemplates::get(std::string_view name, std::string_view lang) const {
    for (std::string_view l : {lang, std::string_view("en")}) {
        std::string key = std::string(name) + "." + std::string(l);
        if (auto it = texts_.find(key); it != texts_.end()) return it->second;
    }
    return {};
}

bool NdrTemplates::has(std::string_view name, std::string_view lang) const {
    return texts_.count(std::string(name) + "." + std::string(lang)) != 0;
}

std::string expand(std::string_view tmpl, const Placeholders& values) {
    std::string out;
    std::string filled;
    bool blank = true;  // collapse runs of blank lines, none at the start
    for (std::string_view line : split_lines(tmpl)) {
        if (!fill_line(line, values, filled)) continue;
        while (!filled.empty() && (filled.back() == ' ' || filled.back() == '\t'))
            filled.pop_back();
        if (filled.empty()) {
            if (!blank) out += '\n';
            blank = true;
            continue;
        }
        blank = false;
        if (filled[0] == ' ') {  // preformatted: kept as written
            out += filled;
            out += '\n';
        } else {
            wrap(filled, filled.rfind("- ", 0) == 0 ? "  " : "", out);
        }
    }
    while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') {
        out.pop_back();
    }
    return out;
}

}  // namespace chainmail::bounce
