// SPDX-License-Identifier: Apache-2.0
// A report's samples into the head: prepared on the report's own thread,
// beside the writer (the series' identity, sorted samples, head chunks),
// then appended by the writer in the report's transaction, with the series'
// row ids (made when new) and the host's series limit.
#include <functional>
#include <map>

#include "backend.hpp"

namespace surveyor::collector::sqlite {
namespace {

// A series' key in Backend::series_ids: its CI, metric and attributes as
// given, each length-prefixed. One key names one row, whose attributes are
// the key's labels_to_json, made only when the row is looked up.
std::string series_identity(const SeriesKey& k) {
  std::string out;
  const auto put = [&out](std::string_view part) {
    out += std::to_string(part.size());
    out += ':';
    out += part;
  };
  put(k.ci_id);
  put(k.metric);
  for (const auto& [key, value] : k.attributes) {
    put(key);
    put(value);
  }
  return out;
}

// The series' row id, its row written when it is new (`created` set) or its
// unit changed.
// `identity` as prepare_series gives it.
core::Result<std::int64_t> series_id_for(Connection& c, Backend& b, const SeriesInfo& info, const std::string& identity,
                                         bool& created) {
  created = false;
  // A known series with an unchanged unit needs no write.
  if (auto it = b.series_ids.find(identity); it != b.series_ids.end() && it->second.second == info.unit)
    return it->second.first;
  const std::string attrs = labels_to_json(info.key.attributes);
  std::int64_t id = 0;
  {
    SURVEYOR_TRY_STMT(sel, c, "SELECT id, unit FROM series WHERE ci_id = ?1 AND metric = ?2 AND attributes = ?3");
    sel.bind(1, info.key.ci_id).bind(2, info.key.metric).bind(3, attrs);
    const int rc = sel.step();
    if (rc == SQLITE_ROW) {
      id = sel.int64(0);
      if (sel.text(1) != info.unit) {
        SURVEYOR_TRY_STMT(upd, c, "UPDATE series SET unit = ?2 WHERE id = ?1");
        upd.bind(1, id).bind(2, info.unit);
        if (int urc = upd.step(); urc != SQLITE_DONE) return c.error(urc, "write series unit");
      }
    } else if (rc != SQLITE_DONE) {
      return c.error(rc, "read series id");
    }
  }
  if (id == 0) {
    SURVEYOR_TRY_STMT(ins, c, "INSERT INTO series(ci_id, metric, attributes, unit) VALUES(?1, ?2, ?3, ?4)");
    ins.bind(1, info.key.ci_id).bind(2, info.key.metric).bind(3, attrs).bind(4, info.unit);
    if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write series");
    id = sqlite3_last_insert_rowid(c.handle());
    created = true;
  }
  b.series_ids[identity] = {id, info.unit};
  return id;
}

// Fails with StoreErrc::limit when `ci_id`, having been given `added` new
// series, holds more than `max_series`.
core::Status check_series_limit(Connection& c, std::string_view ci_id, std::size_t added, std::size_t max_series) {
  SURVEYOR_TRY_STMT(s, c, "SELECT count(*) FROM series WHERE ci_id = ?1");
  s.bind(1, ci_id);
  if (int rc = s.step(); rc != SQLITE_ROW) return c.error(rc, "count series");
  const auto held = static_cast<std::size_t>(s.int64(0));
  if (held <= max_series) return {};
  return core::make_error(StoreErrc::limit, series_limit_message(ci_id, held - added, added, max_series));
}

}  // namespace

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
