// registry: families, series and the text exposition format 0.0.4.
#include "relay/metrics/registry.hpp"

#include <fmt/format.h>
#include <cmath>
#include <stdexcept>

namespace chainmail::metrics {

namespace {

const char* type_name(Type t) {
    switch (t) {
        case Type::Counter:
            return "counter";
        case Type::Gauge:
            return "gauge";
        case Type::Histogram:
            return "histogram";
    }
    return "untyped";
}

// HELP text escapes only backslash and newline (exposition format).
std::string escape_help(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out.push_back(c);
    }
    return out;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out.push_back(c);
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    // Whole numbers without a fraction; others in the shortest exact form.
    if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
    return fmt::format("{}", v);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
    for (std::size_t i = 0; i + 1 < bounds_.size(); ++i)
        if (!(bounds_[i] < bounds_[i + 1]))
            throw std::logic_error("histogram bounds must increase");
    for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) {
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Histogram::bucket(std::size_t i) const {
    std::uint64_t n = 0;
    for (std::size_t k = 0; k <= i && k <= bounds_.size(); ++k)
        n += counts_[k].load(std::memory_order_relaxed);
    return n;
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> labels, std::size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      max_series_(max_series) {}

FamilyBase::Key FamilyBase::key_for(std::initializer_list<std::string_view> values) const {
    if (values.size() != labels_.size())
        throw std::logic_error(fmt::format("metric {}: {} label values for {} labels", name_,
                                           values.size(), labels_.size()));
    Key k;
    k.reserve(values.size());
    for (std::string_view v : values) k.emplace_back(v);
    return k;
}

void FamilyBase::header(std::string& out) const {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help_), name_,
                       type_name(type_));
}

void FamilyBase::sample(std::string& out, std::string_view suffix, const Key& k, double v,
                        std::string_view extra) const {
    out += name_;
    out += suffix;
    if (!k.empty() || !extra.empty()) {
        out += '{';
        for (std::size_t i = 0; i < k.size(); ++i) {
            if (i) out += ',';
            out += fmt::format("{}=\"{}\"", labels_[i], escape_label_value(k[i]));
        }
        if (!extra.empty()) {
            if (!k.empty()) out += ',';
            out += extra;
        }
        out += '}';
    }
    out += ' ';
    out += format_value(v);
    out += '\n';
}

void FamilyBase::render_one(std::string& out, const Key& k, const Counter& c) const {
    sample(out, "_total", k, static_cast<double>(c.value()));
}

void FamilyBase::render_one(std::string& out, const Key& k, const Gauge& g) const {
    sample(out, "", k, g.value());
}

void FamilyBase::render_one(std::string& out, const Key& k, const Histogram& h) const {
    for (std::size_t i = 0; i < h.bounds().size(); ++i)
        sample(out, "_bucket", k, static_cast<double>(h.bucket(i)),
               fmt::format("le=\"{}\"", format_value(h.bounds()[i])));
    // Read once: +Inf and _count must agree even while others observe.
    const std::uint64_t all = h.bucket(h.bounds().size());
    sample(out, "_bucket", k, static_cast<double>(all), "le=\"+Inf\"");
    sample(out, "_sum", k, h.sum());
    sample(out, "_count", k, static_cast<double>(all));
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> labels, std::size_t max_series) {
    // Exposition: a counter's family is named without _total; samples carry it.
    auto f = std::make_unique<Family<Counter>>(std::move(name), std::move(help), Type::Counter,
                                               std::move(labels), max_series,
                                               [] { return std::make_unique<Counter>(); });
    auto& ref = *f;
    std::lock_guard lock(mu_);
    families_.push_back(std::move(f));
    return ref;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels,
                               std::size_t max_series) {
    auto f = std::make_unique<Family<Gauge>>(std::move(name), std::move(help), Type::Gauge,
                                             std::move(labels), max_series,
                                             [] { return std::make_unique<Gauge>(); });
    auto& ref = *f;
    std::lock_guard lock(mu_);
    families_.push_back(std::move(f));
    return ref;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> labels, std::vector<double> bounds,
                                       std::size_t max_series) {
    Histogram probe(bounds);  // refuses bad bounds at registration, not at first use
    auto f = std::make_unique<Family<Histogram>>(
        std::move(name), std::move(help), Type::Histogram, std::move(labels), max_series,
        [bounds] { return std::make_unique<Histogram>(bounds); });
    auto& ref = *f;
    std::lock_guard lock(mu_);
    families_.push_back(std::move(f));
    return ref;
}

void Registry::set_collector(const std::string& key, std::function<void()> f) {
    std::lock_guard lock(mu_);
    if (f)
        collectors_[key] = std::move(f);
    else
        collectors_.erase(key);
}

std::string Registry::render() const {
    std::vector<std::function<void()>> collectors;
    {
        std::lock_guard lock(mu_);
        for (const auto& [k, f] : collectors_) collectors.push_back(f);
    }
    for (const auto& c : collectors) c();
    std::string out;
    std::lock_guard lock(mu_);
    for (const auto& f : families_) f->render(out);
    return out;
}

}  // namespace chainmail::metrics
