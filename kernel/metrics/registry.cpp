#include "kernel/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace skiff::kernel {

HistogramImpl::HistogramImpl(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void HistogramImpl::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.add(v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> HistogramImpl::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::string render_labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  std::vector<std::pair<std::string_view, std::string_view>> sorted(labels);
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out;
}

const std::vector<double>& MetricsRegistry::default_latency_buckets() {
  static const std::vector<double> buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
  return buckets;
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help, Type type) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{type, std::string(help), {}, {}, {}}).first;
  return it->second;
}

CounterImpl& MetricsRegistry::counter(std::string_view name, std::string_view help, const std::string& labels) noexcept {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Type::kCounter).counters[labels];
  if (!slot) slot = std::make_unique<CounterImpl>();
  return *slot;
}

GaugeImpl& MetricsRegistry::gauge(std::string_view name, std::string_view help, const std::string& labels) noexcept {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Type::kGauge).gauges[labels];
  if (!slot) slot = std::make_unique<GaugeImpl>();
  return *slot;
}

HistogramImpl& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                          const std::string& labels) noexcept {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Type::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<HistogramImpl>(default_latency_buckets());
  return *slot;
}

namespace {
void append_number(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out += buf;
}
void append_sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  append_number(out, v);
  out += '\n';
}
}  // namespace

std::string MetricsRegistry::expose() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + " " + fam.help + "\n# TYPE " + name + " ";
    switch (fam.type) {
      case Type::kCounter:
        out += "counter\n";
        for (const auto& [labels, c] : fam.counters) append_sample(out, name, labels, c->value());
        break;
      case Type::kGauge:
        out += "gauge\n";
        for (const auto& [labels, g] : fam.gauges) append_sample(out, name, labels, g->value());
        break;
      case Type::kHistogram: {
        out += "histogram\n";
        for (const auto& [labels, h] : fam.histograms) {
          auto cum = h->cumulative();
          const auto& bounds = h->bounds();
          for (std::size_t i = 0; i <= bounds.size(); ++i) {
            std::string le;
            if (i < bounds.size()) {
              append_number(le, bounds[i]);
            } else {
              le = "+Inf";
            }
            std::string l = labels.empty() ? "le=\"" + le + "\"" : labels + ",le=\"" + le + "\"";
            append_sample(out, name + "_bucket", l, static_cast<double>(cum[i]));
          }
          append_sample(out, name + "_sum", labels, h->sum());
          append_sample(out, name + "_count", labels, static_cast<double>(h->count()));
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace skiff::kernel
