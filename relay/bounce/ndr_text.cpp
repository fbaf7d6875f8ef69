#include "relay/bounce/ndr_text.hpp"

namespace chainmail::bounce {
namespace {

std::string_view intro_name(ReportKind kind) {
    switch (kind) {
        case ReportKind::Failure:
            return "intro_failed";
        case ReportKind::Delay:
            return "intro_delayed";
        case ReportKind::Hold:
            return "intro_held";
        case ReportKind::Success:
            return "intro_delivered";
    }
    return "intro_failed";
}

std::string_view subject_name(ReportKind kind) {
    switch (kind) {
        case ReportKind::Failure:
            return "subject_failed";
        case ReportKind::Delay:
            return "subject_delayed";
        case ReportKind::Hold:
            return "subject_held";
        case ReportKind::Success:
            return "subject_delivered";
    }
    return "subject_failed";
}

std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\r' || c == '\n') {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

void add_block(std::string& out, const std::string& block) {
    if (block.empty()) return;
    if (!out.empty()) out += '\n';
    out += block;
}

std::string underline(std::string_view heading) {
    std::string h = one_line(heading);
    std::size_t chars = 0;
    for (char c : h) chars += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return h + "\n" + std::string(chars, '-') + "\n";
}

std::string language_text(const NdrTemplates& t, std::string_view lang, bool heading,
                          ReportKind kind, const Placeholders& common,
                          std::span<const TextRecipient> recipients) {
    std::string out;
    if (heading) out += underline(expand(t.get("language_heading", lang), common)) + "\n";
    out += expand(t.get(intro_name(kind), lang), common);
    std::string ict;
    for (const TextRecipient& r : recipients) {
        Placeholders values = common;
        for (const auto& [k, v] : r.values) values[k] = v;
        std::string_view tmpl = t.get(r.template_name, lang);
        std::size_t marker = tmpl.find(std::string("\n") + std::string(kIctMarker));
        std::string_view user = tmpl.substr(0, marker);
        std::string_view tech;
        if (marker != std::string_view::npos) {
            tech = tmpl.substr(marker + 1 + kIctMarker.size());
        }
        // A held message is still to be sent: the reason's own advice ("send
        // it another way") would contradict that, so only its details stay.
        if (kind == ReportKind::Hold) user = t.get("held", lang);
        add_block(out, expand(user, values));
        add_block(ict, expand(tech, values));
    }
    add_block(out, expand(t.get("help", lang), common));
    if (!ict.empty()) {
        out += '\n';
        out += underline(expand(t.get("ict_heading", lang), common));
        out += ict;
    }
    add_block(out, expand(t.get("footer", lang), common));
    return out;
}

}  // namespace

std::string compose_text(const NdrTemplates& templates, std::span<const std::string> languages,
                         ReportKind kind, const Placeholders& common,
                         std::span<const TextRecipient> recipients) {
    static const std::string kEnglish[] = {"en"};
    if (languages.empty()) languages = kEnglish;
    std::string out;
    for (const std::string& lang : languages) {
        if (!out.empty()) {
            out += '\n';
            out.append(72, '_');
            out += "\n\n";
        }
        out += language_text(templates, lang, languages.size() > 1, kind, common, recipients);
    }
    return out;
}

std::string subject_words(const NdrTemplates& templates, std::span<const std::string> languages,
                          ReportKind kind) {
    std::string_view first = languages.empty() ? std::string_view("en") : languages.front();
    std::string words = one_line(templates.get(subject_name(kind), first));
    if (first != "en") words += " / " + one_line(templates.get(subject_name(kind), "en"));
    return words;
}

}  // namespace chainmail::bounce
