// Prometheus instruments and their text exposition (format 0.0.4), served at /metrics.
// Instruments are created once and live as long as the registry; hot paths keep the reference.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/plugin/host.hpp"

namespace skiff::kernel {

class AtomicDouble {
 public:
  void add(double v) noexcept {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
  }
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  double get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class CounterImpl final : public plugin::Counter {
 public:
  void add(double v = 1) noexcept override { value_.add(v); }
  double value() const noexcept { return value_.get(); }

 private:
  AtomicDouble value_;
};

class GaugeImpl final : public plugin::Gauge {
 public:
  void set(double v) noexcept override { value_.set(v); }
  void add(double v) noexcept override { value_.add(v); }
  double value() const noexcept { return value_.get(); }

 private:
  AtomicDouble value_;
};

class HistogramImpl final : public plugin::Histogram {
 public:
  explicit HistogramImpl(std::vector<double> bounds);
  void observe(double v) noexcept override;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts per bound, then +Inf; plus sum.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const noexcept { return sum_.get(); }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, plus +Inf
  AtomicDouble sum_;
  std::atomic<std::uint64_t> count_{0};
};

// Labels as a pre-rendered, sorted `a="x",b="y"` string (empty for none).
std::string render_labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);

class MetricsRegistry final : public plugin::Metrics {
 public:
  static const std::vector<double>& default_latency_buckets();  // seconds, 100µs … 10s

  plugin::Counter& counter(std::string_view name, std::string_view help) noexcept override {
    return counter(name, help, "");
  }
  plugin::Gauge& gauge(std::string_view name, std::string_view help) noexcept override { return gauge(name, help, ""); }
  plugin::Histogram& histogram(std::string_view name, std::string_view help) noexcept override {
    return histogram(name, help, "");
  }

  CounterImpl& counter(std::string_view name, std::string_view help, const std::string& labels) noexcept;
  GaugeImpl& gauge(std::string_view name, std::string_view help, const std::string& labels) noexcept;
  HistogramImpl& histogram(std::string_view name, std::string_view help, const std::string& labels) noexcept;

  // The whole registry in Prometheus text format.
  std::string expose() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<CounterImpl>> counters;
    std::map<std::string, std::unique_ptr<GaugeImpl>> gauges;
    std::map<std::string, std::unique_ptr<HistogramImpl>> histograms;
  };
  Family& family(std::string_view name, std::string_view help, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace skiff::kernel
