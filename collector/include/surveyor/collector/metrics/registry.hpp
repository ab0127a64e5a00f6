// SPDX-License-Identifier: Apache-2.0
// The collector's own metrics: counters, gauges and histograms with labels, served in the
// Prometheus text format.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace surveyor::collector::metrics {

// A monotonically increasing count. Lock-free.
class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  // Raises the count to `v`, a total kept elsewhere; never lowers it.
  void raise_to(std::uint64_t v) {
    std::uint64_t cur = v_.load(std::memory_order_relaxed);
    while (cur < v && !v_.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
  }
  [[nodiscard]] std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// A value that goes up and down. Lock-free.
class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  [[nodiscard]] double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Cumulative buckets over fixed upper bounds, as Prometheus histograms are.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // non-cumulative, last = +Inf
  std::atomic<double> sum_{0};
};

// A metric name with a fixed list of label names; children per label values.
template <class M>
class Family {
 public:
  Family(std::vector<std::string> label_names, std::vector<double> bounds = {})
      : labels_(std::move(label_names)), bounds_(std::move(bounds)) {}
  // The child for these label values (in label_names order), created on first use.
  M& with(const std::vector<std::string>& values);
  [[nodiscard]] const std::vector<std::string>& label_names() const { return labels_; }
  template <class F>
  void each(F&& f) const {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : children_) f(k, *v);
  }

 private:
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

// The collector's own metrics, rendered in the Prometheus text format for
// GET /metrics. Not a global: main creates one and hands it to what counts.
class Registry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  // A counter of nanoseconds, rendered in seconds (name it *_seconds_total).
  Family<Counter>& seconds_counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                               std::vector<std::string> labels = {});

  // Text exposition format 0.0.4.
  [[nodiscard]] std::string render() const;

 private:
  struct Entry {
    std::string name, help, type;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
    bool nanoseconds = false;  // counters: rendered in seconds
  };
  Entry& entry(const std::string& name, const std::string& help, const std::string& type);
  Family<Counter>& add_counter(const std::string& name, const std::string& help, std::vector<std::string> labels,
                               bool nanoseconds);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace surveyor::collector::metrics
