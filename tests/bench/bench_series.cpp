// SPDX-License-Identifier: Apache-2.0
// The series store under load, on the store a URL names (a fresh one: the
// benchmark writes into it).
//
//   bench_series STORE_URL DATA.jsonl [--query-runs N] [--no-query]
//
// 1. Ingest: the dataset (../shared/bench/gen_series.py's JSON lines) as the
//    agents would send it: one report per host per minute, in time order,
//    each through ReportStore::apply_report (durable, deduplicated).
// 2. Compaction: SeriesStore::maintain until every closed block is a chunk.
// 3. Size: for SQLite, the chunk bytes and the whole file after VACUUM, per
//    sample (Redis sizes come from the server: see docs/benchmarks.md).
// 4. Query: one series of 30 days at one sample a minute (a CPU ratio like
//    the agent's), kept raw for 31 days: its 43,200 raw samples, a 5-minute
//    average trend from them, an hourly maximum trend from rollups and a
//    30-day forecast, each timed over N runs (median and worst).
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/capacity/query.hpp"
#include "surveyor/json/parse.hpp"

namespace {

using namespace surveyor::collector;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_series: %s\n", what.c_str());
  std::exit(1);
}

template <class R>
auto need(R&& r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().describe());
  return std::move(*r);
}

struct Series {
  store::SeriesInfo info;
  std::vector<store::Sample> samples;
};

// host -> its series, from the JSON lines.
std::map<std::string, std::vector<Series>> load(const char* path, std::size_t& total, std::int64_t& last_ms) {
  std::ifstream in(path);
  if (!in) die(std::string("cannot read ") + path);
  std::map<std::string, std::vector<Series>> hosts;
  std::map<std::string, std::size_t> index;  // host|metric|attrs -> position in hosts[host]
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    const boost::json::value v = surveyor::json::parse_precise(line, ec);
    if (ec || !v.is_object()) die("bad line: " + line);
    const auto& o = v.as_object();
    const std::string host(o.at("host").as_string());
    store::SeriesKey key{host, std::string(o.at("metric").as_string()), {}};
    for (const auto& kv : o.at("attrs").as_object())
      key.attributes.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
    std::sort(key.attributes.begin(), key.attributes.end());
    std::string id = host + "|" + key.metric + "|" + store::labels_to_json(key.attributes);
    auto& list = hosts[host];
    auto [it, added] = index.emplace(id, list.size());
    if (added) {
      const bool bytes = key.metric.find(".bytes") != std::string::npos;
      list.push_back({{key, bytes ? "By" : key.metric.find("utilization") != std::string::npos ? "1" : ""}, {}});
    }
    const std::int64_t t = o.at("ts").to_number<std::int64_t>() * 1000;
    list[it->second].samples.push_back({t, o.at("value").to_number<double>()});
    last_ms = std::max(last_ms, t);
    ++total;
  }
  return hosts;
}

void create_agent(store::Stores& st, const std::string& host) {
  store::AgentRecord a;
  a.id = "agt-" + host;
  a.key_hash = std::string(64, '0');
  a.host_id = host;
  a.hostname = host;
  a.ci_id = host;
  a.agent_version = "bench";
  if (auto s = st.agents->create_agent(a); !s) die("create_agent: " + s.error().describe());
}

// Compacts every block closed an hour before now_ms; returns the blocks made.
std::size_t compact_all(store::Stores& st, std::int64_t now_ms, std::int64_t raw_retention_ms) {
  store::SeriesMaintenance m;
  m.now_ms = now_ms;
  m.raw_retention_ms = raw_retention_ms;
  std::size_t blocks = 0;
  for (;;) {
    auto r = need(st.series->maintain(m), "maintain");
    if (r.damaged) die("damaged chunks: " + r.damage);
    blocks += r.blocks_compacted;
    if (!r.more) return blocks;
  }
}

std::int64_t file_size(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0 ? static_cast<std::int64_t>(sb.st_size) : -1;
}

// Chunk payload bytes and the file size after VACUUM of a SQLite store.
void sqlite_sizes(const std::string& path, std::size_t samples) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) die("cannot open " + path);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    std::int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  };
  const std::int64_t chunk_bytes = scalar("SELECT total(length(data)) FROM chunks");
  const std::int64_t chunks = scalar("SELECT count(*) FROM chunks");
  const std::int64_t head_rows = scalar("SELECT count(*) FROM head_log");
  const std::int64_t rollups = scalar("SELECT count(*) FROM rollups");
  if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);", nullptr, nullptr,
                   nullptr) != SQLITE_OK)
    die(std::string("VACUUM: ") + sqlite3_errmsg(db));
  sqlite3_close(db);
  const double n = static_cast<double>(samples);
  std::printf("size (sqlite): %lld chunks holding %lld bytes = %.3f bytes/sample; %lld rows left in the head; "
              "%lld hourly rollups\n",
              static_cast<long long>(chunks), static_cast<long long>(chunk_bytes), static_cast<double>(chunk_bytes) / n,
              static_cast<long long>(head_rows), static_cast<long long>(rollups));
  // Pages per table and index, where the library has the dbstat table.
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) die("cannot open " + path);
  std::int64_t pages_of_chunks = -1;
  // agents: one here, its row holding its window of the reports applied.
  for (const char* what : {"chunks", "rollups", "agents"}) {
    const std::string sql = std::string("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                                        "(SELECT name FROM sqlite_schema WHERE tbl_name = '") + what + "')";
    const std::int64_t bytes = scalar(sql.c_str());
    if (bytes < 0) break;
    if (std::strcmp(what, "chunks") == 0) pages_of_chunks = bytes;
    std::printf("size (sqlite): %-12s %9lld bytes of pages (with its index) = %.3f bytes/sample\n", what,
                static_cast<long long>(bytes), static_cast<double>(bytes) / n);
  }
  sqlite3_close(db);
  if (pages_of_chunks < 0) std::printf("size (sqlite): no dbstat table in this SQLite; pages per table not shown\n");
  const std::int64_t file = file_size(path);
  std::printf("size (sqlite): file after VACUUM %lld bytes = %.3f bytes/sample (chunks, rollups, indexes, CIs)\n",
              static_cast<long long>(file), static_cast<double>(file) / n);
}

struct Timing {
  std::vector<double> ms;
  void print(const char* what, std::size_t points) {
    std::sort(ms.begin(), ms.end());
    std::printf("query: %-52s %6zu points  median %7.3f ms  worst %7.3f ms  (%zu runs)\n", what, points,
                ms[ms.size() / 2], ms.back(), ms.size());
  }
};

template <class F>
Timing time_runs(int runs, F&& f) {
  Timing t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    f();
    t.ms.push_back(seconds_since(t0) * 1000);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s STORE_URL DATA.jsonl [--query-runs N] [--no-query]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  int runs = 50;
  bool query = true;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--query-runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--no-query") == 0) query = false;
    else die(std::string("unknown argument ") + argv[i]);
  }

  std::size_t total = 0;
  std::int64_t last_ms = 0;
  auto t_load = Clock::now();
  auto hosts = load(argv[2], total, last_ms);
  std::printf("dataset: %zu samples, %zu hosts, loaded in %.1f s\n", total, hosts.size(), seconds_since(t_load));

  store::Stores st = need(backends::open_stores(url), "open");
  std::printf("store: %s\n", st.health->describe().c_str());

  // 1. Ingest, one report per host per minute, in time order.
  std::map<std::string, std::vector<std::size_t>> cursor;  // per host, per series: next sample
  std::int64_t first_ms = INT64_MAX;
  for (auto& [host, list] : hosts) {
    create_agent(st, host);
    cursor[host].assign(list.size(), 0);
    for (const Series& s : list) first_ms = std::min(first_ms, s.samples.front().time_ms);
  }
  std::size_t reports = 0, sent = 0;
  std::vector<double> report_ms;
  const auto t_ingest = Clock::now();
  for (std::int64_t minute = first_ms / 60'000 * 60'000; minute <= last_ms; minute += 60'000) {
    for (auto& [host, list] : hosts) {
      store::ReportBatch b;
      b.agent_id = "agt-" + host;
      b.sequence = ++reports;
      b.received_at_ms = minute + 60'000;
      b.heartbeat_interval_s = 60;
      if (minute == first_ms / 60'000 * 60'000)
        b.cis.push_back({.id = host, .type = "host", .name = host, .source = "agent", .seen_at_ms = minute});
      auto& pos = cursor[host];
      for (std::size_t i = 0; i < list.size(); ++i) {
        std::vector<store::Sample> part;
        while (pos[i] < list[i].samples.size() && list[i].samples[pos[i]].time_ms < minute + 60'000)
          part.push_back(list[i].samples[pos[i]++]);
        sent += part.size();
        if (!part.empty()) b.series.push_back({list[i].info, std::move(part)});
      }
      const auto t0 = Clock::now();
      if (auto r = st.reports->apply_report(b); !r) die("apply_report: " + r.error().describe());
      report_ms.push_back(seconds_since(t0) * 1000);
    }
  }
  const double ingest_s = seconds_since(t_ingest);
  std::sort(report_ms.begin(), report_ms.end());
  std::printf("ingest: %zu reports, %zu samples in %.1f s = %.0f reports/s, %.0f samples/s; per report median "
              "%.3f ms, p99 %.3f ms\n",
              reports, sent, ingest_s, static_cast<double>(reports) / ingest_s, static_cast<double>(sent) / ingest_s,
              report_ms[report_ms.size() / 2], report_ms[report_ms.size() * 99 / 100]);
  if (sent != total) die("not every sample was sent");

  // Reads against the head, before compaction: it holds the whole dataset
  // (7 days of a report a minute per host, where the open block and the
  // grace period are at most 5 hours), the worst a head can be.
  const store::SeriesKey& one = hosts.begin()->second.front().info.key;
  auto head_reads = [&](const char* when) {
    std::size_t latest_points = 0, window_points = 0;
    char what[96];
    std::snprintf(what, sizeof what, "latest sample of each series of a host, %s", when);
    time_runs(runs, [&] { latest_points = need(st.series->latest_samples(one.ci_id), "latest").size(); })
        .print(what, latest_points);
    std::snprintf(what, sizeof what, "last 15 min of one series, %s", when);
    time_runs(runs, [&] {
      window_points = need(st.series->read_samples(one, last_ms - 15 * 60'000, last_ms + 1, 100'000), "read").size();
    }).print(what, window_points);
  };
  head_reads("all in the head");

  // 2. Compaction of every closed block.
  const auto t_compact = Clock::now();
  const std::size_t blocks = compact_all(st, last_ms + store::kBlockMs + 2 * 3'600'000, 31 * 86'400'000LL);
  std::printf("compaction: %zu blocks in %.1f s\n", blocks, seconds_since(t_compact));
  head_reads("compacted");

  // Every sample is still there, bit for bit.
  for (auto& [host, list] : hosts)
    for (const Series& s : list) {
      auto back = need(st.series->read_samples(s.info.key, INT64_MIN, INT64_MAX, s.samples.size() + 1), "read");
      if (back.size() != s.samples.size() ||
          !std::equal(back.begin(), back.end(), s.samples.begin(), [](const store::Sample& a, const store::Sample& b) {
            return a.time_ms == b.time_ms && std::memcmp(&a.value, &b.value, sizeof a.value) == 0;
          }))
        die("read back differs for " + host + " " + s.info.key.metric);
    }
  std::printf("check: all %zu samples read back bit for bit\n", total);

  // 3. Sizes (SQLite here; Redis from the server's own figures).
  if (url.rfind("sqlite:", 0) == 0) {
    std::string path = url.substr(7);
    path = path.substr(0, path.find('?'));
    sqlite_sizes(path, total);
  }

  if (!query) return 0;

  // 4. Queries on 30 days of one-minute samples.
  const std::int64_t end = (last_ms / 3'600'000 + 1) * 3'600'000;
  const std::int64_t begin = end - 30 * 86'400'000LL;
  const std::string qhost = "bench-30d";
  create_agent(st, qhost);
  store::SeriesInfo qinfo{{qhost, "system.cpu.utilization", {}}, "1"};
  std::mt19937_64 rng(20261125);
  std::normal_distribution<double> noise(0, 0.05);
  std::vector<store::Sample> month;
  for (std::int64_t t = begin; t < end; t += 60'000) {
    const double day = 2 * M_PI * static_cast<double>(t % 86'400'000) / 86'400'000.0;
    const double util = std::clamp(0.4 + 0.15 * std::sin(day) + noise(rng), 0.0, 1.0);
    month.push_back({t, std::round(util * 12'000) / 12'000});  // a ratio of jiffies, 2 CPUs at 100 Hz
  }
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < month.size(); i += 60) {  // an hour per report, as a spool replay sends them
    store::ReportBatch b;
    b.agent_id = "agt-" + qhost;
    b.sequence = ++seq;
    b.received_at_ms = end;
    b.heartbeat_interval_s = 60;
    if (i == 0) b.cis.push_back({.id = qhost, .type = "host", .name = qhost, .source = "agent", .seen_at_ms = begin});
    b.series.push_back({qinfo, {month.begin() + static_cast<std::ptrdiff_t>(i),
                                month.begin() + static_cast<std::ptrdiff_t>(std::min(i + 60, month.size()))}});
    if (auto r = st.reports->apply_report(b); !r) die("apply_report: " + r.error().describe());
  }
  compact_all(st, end + store::kBlockMs + 2 * 3'600'000, 31 * 86'400'000LL);

  std::size_t n = 0;
  time_runs(runs, [&] { n = need(st.series->read_samples(qinfo.key, begin, end, 100'000), "read").size(); })
      .print("30 days raw (SeriesStore::read_samples)", n);
  if (n != month.size()) die("the 30-day read returned " + std::to_string(n) + " samples");
  capacity::TrendRequest tr;
  tr.selector = {{qhost}, qinfo.key.metric, {}, true};
  tr.from_ms = begin;
  tr.to_ms = end;
  tr.step_ms = 300'000;
  time_runs(runs, [&] { n = need(capacity::run_trend(*st.series, tr), "trend").series.at(0).points.size(); })
      .print("30 days, avg per 5 min from raw", n);
  tr.step_ms = 3'600'000;
  tr.agg = capacity::Agg::max;
  time_runs(runs, [&] {
    auto r = need(capacity::run_trend(*st.series, tr), "trend");
    if (r.source != capacity::Source::rollup) die("the hourly trend did not read rollups");
    n = r.series.at(0).points.size();
  }).print("30 days, max per hour from rollups", n);
  capacity::ForecastRequest fr;
  fr.selector = tr.selector;
  fr.now_ms = end;
  fr.window_ms = 30 * 86'400'000LL;
  fr.threshold = 0.9;
  time_runs(runs, [&] { n = need(capacity::run_forecast(*st.series, fr), "forecast").at(0).points; })
      .print("30-day forecast (hourly maxima, fit, threshold)", n);
  return 0;
}
