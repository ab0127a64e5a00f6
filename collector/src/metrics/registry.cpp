// SPDX-License-Identifier: Apache-2.0
// A small Prometheus registry for the collector's own health: counters,
// gauges and histograms with labels, rendered in the text exposition format.
#include "surveyor/collector/metrics/registry.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace surveyor::collector::metrics {
namespace {

void atomic_add(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double.
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + escape_label(values[i]) + "\"";
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

void Gauge::add(double d) { atomic_add(v_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

template <class M>
M& Family<M>::with(const std::vector<std::string>& values) {
  if (values.size() != labels_.size()) throw std::logic_error("wrong number of label values");
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    if constexpr (std::is_same_v<M, Histogram>) it = children_.emplace(values, std::make_unique<M>(bounds_)).first;
    else it = children_.emplace(values, std::make_unique<M>()).first;
  }
  return *it->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Entry& Registry::entry(const std::string& name, const std::string& help, const std::string& type) {
  for (auto& e : entries_)
    if (e->name == name) throw std::logic_error("metric registered twice: " + name);
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, type, nullptr, nullptr, nullptr, false}));
  return *entries_.back();
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> l) {
  return add_counter(name, help, std::move(l), false);
}

Family<Counter>& Registry::seconds_counter(const std::string& name, const std::string& help,
                                          std::vector<std::string> l) {
  return add_counter(name, help, std::move(l), true);
}

Family<Counter>& Registry::add_counter(const std::string& name, const std::string& help, std::vector<std::string> l,
                                       bool nanoseconds) {
  std::lock_guard lock(mu_);
  Entry& e = entry(name, help, "counter");
  e.counters = std::make_unique<Family<Counter>>(std::move(l));
  e.nanoseconds = nanoseconds;
  return *e.counters;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> l) {
  std::lock_guard lock(mu_);
  Entry& e = entry(name, help, "gauge");
  e.gauges = std::make_unique<Family<Gauge>>(std::move(l));
  return *e.gauges;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                                       std::vector<std::string> l) {
  std::lock_guard lock(mu_);
  Entry& e = entry(name, help, "histogram");
  e.histograms = std::make_unique<Family<Histogram>>(std::move(l), std::move(bounds));
  return *e.histograms;
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& e : entries_) {
    out += "# HELP " + e->name + " " + e->help + "\n# TYPE " + e->name + " " + e->type + "\n";
    if (e->counters) {
      e->counters->each([&](const std::vector<std::string>& v, const Counter& c) {
        out += e->name + labels(e->counters->label_names(), v) + " " +
               (e->nanoseconds ? number(static_cast<double>(c.value()) / 1e9) : std::to_string(c.value())) + "\n";
      });
    } else if (e->gauges) {
      e->gauges->each([&](const std::vector<std::string>& v, const Gauge& g) {
        out += e->name + labels(e->gauges->label_names(), v) + " " + number(g.value()) + "\n";
      });
    } else if (e->histograms) {
      e->histograms->each([&](const std::vector<std::string>& v, const Histogram& h) {
        const auto s = h.snapshot();
        const auto& names = e->histograms->label_names();
        for (std::size_t i = 0; i < s.bounds.size(); ++i)
          out += e->name + "_bucket" + labels(names, v, "le=\"" + number(s.bounds[i]) + "\"") + " " +
                 std::to_string(s.cumulative[i]) + "\n";
        out += e->name + "_bucket" + labels(names, v, "le=\"+Inf\"") + " " + std::to_string(s.count) + "\n";
        out += e->name + "_sum" + labels(names, v) + " " + number(s.sum) + "\n";
        out += e->name + "_count" + labels(names, v) + " " + std::to_string(s.count) + "\n";
      });
    }
  }
  return out;
}

}  // namespace surveyor::collector::metrics
