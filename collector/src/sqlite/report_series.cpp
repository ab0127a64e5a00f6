// SPDX-License-Identifier: Apache-2.0
// A report's samples into the head: prepared on the report's own thread,
// beside the writer (the series' identity, sorted samples, head chunks),
// then appended by the writer in the report's transaction.
#include <functional>
#include <map>

#include "backend.hpp"

namespace surveyor::collector::sqlite {

std::vector<PreparedSeries> prepare_series(Backend& b, const ReportSeries& series) {
  std::vector<PreparedSeries> out;
  out.reserve(series.size());
  for (const auto& [info, samples] : series) {
    PreparedSeries& p = out.emplace_back();
    p.identity = series_identity(info.key);
    p.sorted = merge_samples({}, samples);
    if (p.sorted.empty()) continue;
    p.chunk = b.denominators.encode(std::hash<std::string>{}(p.identity), p.sorted);
  }
  return out;
}

core::Status append_samples(Connection& c, Backend& b, const ReportSeries& series,
                            const std::vector<PreparedSeries>& prepared, std::size_t max_series) {
  if (prepared.size() != series.size())
    return core::make_error(StoreErrc::invalid, "the report's series were not prepared");
  std::map<std::string_view, RowSamples> by_ci;
  // The chunks made already, of series whose samples are all fresh and
  // appear once in the report: the others are encoded with their head row.
  std::map<std::string_view, std::map<std::int64_t, std::string_view>> encoded;
  std::map<std::string_view, std::size_t> added;  // new series per CI
  for (std::size_t i = 0; i < series.size(); ++i) {
    const SeriesInfo& info = series[i].first;
    const PreparedSeries& p = prepared[i];
    bool created = false;
    auto id = series_id_for(c, b, info, p.identity, created);
    if (!id) return std::move(id).error();
    if (created) ++added[info.key.ci_id];
    auto fresh = fresh_samples(c, b, info.key.ci_id, *id, p.sorted);
    if (!fresh) return std::move(fresh).error();
    if (fresh->empty()) continue;
    std::vector<Sample>& row = by_ci[info.key.ci_id][*id];
    auto& chunks = encoded[info.key.ci_id];
    if (row.empty()) {
      // fresh is a part of sorted: of the same size, it is all of it.
      if (fresh->size() == p.sorted.size()) chunks.emplace(*id, p.chunk);
      row = std::move(*fresh);
    } else {
      chunks.erase(*id);
      row = merge_samples(std::move(row), *fresh);  // a series twice in one report: the first copy wins
    }
  }
  if (max_series > 0)
    for (const auto& [ci_id, n] : added)
      if (auto st = check_series_limit(c, ci_id, n, max_series); !st) return st;
  for (const auto& [ci_id, row] : by_ci) {
    if (auto st = insert_head_row(c, ci_id, row, false, &encoded[ci_id]); !st) return st;
    for (const auto& [id, samples] : row) {
      auto [it, fresh] = b.head_newest.try_emplace(id, samples.back().time_ms);
      if (!fresh) it->second = std::max(it->second, samples.back().time_ms);
    }
  }
  return {};
}

}  // namespace surveyor::collector::sqlite
