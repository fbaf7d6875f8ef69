// registry: a small Prometheus registry. Counters, gauges and histograms are
// relaxed atomics, safe to update from any thread; a labelled series is made
// on first use under a short lock, and each family caps its series count
// (past the cap, values land in one series whose labels are all "other").
// render() writes the text exposition format 0.0.4 with HELP and TYPE.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chainmail::metrics {

class Counter {
  public:
    void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> v_{0};
};

class Gauge {
  public:
    void set(double v) { v_.store(v, std::memory_order_relaxed); }
    void add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
    double value() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> v_{0};
};

// Cumulative buckets as Prometheus defines them: bucket i counts v <= bounds[i].
class Histogram {
  public:
    explicit Histogram(const std::vector<double>& bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    std::uint64_t bucket(std::size_t i) const;  // cumulative; i == bounds().size(): +Inf
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    double sum() const { return sum_.load(std::memory_order_relaxed); }

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
    std::atomic<std::uint64_t> count_{0};
    std::atomic<double> sum_{0};
};

enum class Type { Counter, Gauge, Histogram };

class FamilyBase {
  public:
    FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels,
               std::size_t max_series);
    virtual ~FamilyBase() = default;
    virtual void render(std::string& out) const = 0;
    const std::string& name() const { return name_; }

  protected:
    using Key = std::vector<std::string>;
    // The key for `values`; throws std::logic_error on a wrong count (our bug).
    Key key_for(std::initializer_list<std::string_view> values) const;
    Key other_key() const { return Key(labels_.size(), "other"); }
    void header(std::string& out) const;  // # HELP and # TYPE
    // `name{a="x",b="y"} value` lines; `extra` is one more label (le="…").
    void sample(std::string& out, std::string_view suffix, const Key& k, double v,
                std::string_view extra = {}) const;
    void render_one(std::string& out, const Key& k, const Counter& c) const;
    void render_one(std::string& out, const Key& k, const Gauge& g) const;
    void render_one(std::string& out, const Key& k, const Histogram& h) const;

    std::string name_, help_;
    Type type_;
    std::vector<std::string> labels_;
    std::size_t max_series_;
    mutable std::mutex mu_;
};

// One metric name with its series, one per combination of label values.
template <class T>
class Family final : public FamilyBase {
  public:
    using Make = std::function<std::unique_ptr<T>()>;
    Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
           std::size_t max_series, Make make)
        : FamilyBase(std::move(name), std::move(help), type, std::move(labels), max_series),
          make_(std::move(make)) {}

    // The series for these label values (as many as the family has labels).
    T& with(std::initializer_list<std::string_view> values) {
        std::lock_guard lock(mu_);
        Key k = key_for(values);
        auto it = series_.find(k);
        if (it == series_.end()) {
            // Bounded cardinality: a new series past the cap joins "other".
            if (series_.size() >= max_series_) it = series_.find(k = other_key());
            if (it == series_.end()) it = series_.emplace(std::move(k), make_()).first;
        }
        return *it->second;
    }

    void render(std::string& out) const override {
        std::lock_guard lock(mu_);
        if (series_.empty()) return;
        header(out);
        for (const auto& [k, v] : series_) render_one(out, k, *v);
    }

  private:
    Make make_;
    std::map<Key, std::unique_ptr<T>> series_;
};

class Registry {
  public:
    static constexpr std::size_t kDefaultMaxSeries = 500;

    // Each name once; the family lives as long as the registry.
    Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels,
                             std::size_t max_series = kDefaultMaxSeries);
    Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels,
                         std::size_t max_series = kDefaultMaxSeries);
    Family<Histogram>& histogram(std::string name, std::string help,
                                 std::vector<std::string> labels, std::vector<double> bounds,
                                 std::size_t max_series = kDefaultMaxSeries);
    // Runs before each render, on the rendering thread (values read on demand).
    // One per key; an empty function removes it (its owner is going away).
    void set_collector(const std::string& key, std::function<void()> f);

    std::string render() const;

  private:
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<FamilyBase>> families_;
    std::map<std::string, std::function<void()>> collectors_;
};

// Prometheus text: a label value with \, " and newline escaped; a sample value.
std::string escape_label_value(std::string_view v);
std::string format_value(double v);

}  // namespace chainmail::metrics
