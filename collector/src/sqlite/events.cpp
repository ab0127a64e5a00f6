// SPDX-License-Identifier: Apache-2.0
// Capacity events on SQLite: one open event per rule and series.
#include "backend.hpp"
#include "event_query.hpp"

namespace surveyor::collector::sqlite {

namespace {

core::Result<CapacityEvent> read_event(Stmt& s) {
  CapacityEvent e;
  e.id = s.text(0);
  e.kind = s.text(1);
  e.rule = s.text(2);
  e.ci_id = s.text(3);
  e.metric = s.text(4);
  auto labels = labels_from_json(s.text(5));
  if (!labels) return std::move(labels).error();
  e.attributes = std::move(*labels);
  e.state = s.text(6);
  e.opened_ms = s.int64(7);
  e.updated_ms = s.int64(8);
  e.resolved_ms = s.int64(9);
  e.threshold = s.real(10);
  e.value = s.real(11);
  if (!s.is_null(12)) e.predicted_ms = s.int64(12);
  e.summary = s.text(13);
  return e;
}

core::Result<std::optional<CapacityEvent>> open_event(Connection& c, const std::string& key) {
  SURVEYOR_TRY_STMT(s, c, std::string("SELECT ") + kEventColumns + " FROM events WHERE dedup_key = ?1 AND state = 'open'");
  s.bind(1, key);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<CapacityEvent>{};
  if (rc != SQLITE_ROW) return c.error(rc, "read event");
  auto e = read_event(s);
  if (!e) return std::move(e).error();
  return std::optional<CapacityEvent>{std::move(*e)};
}

}  // namespace

class SqliteEventStore final : public Bound<EventStore> {
 public:
  using Bound::Bound;

  core::Result<std::pair<CapacityEvent, bool>> raise_event(const CapacityEvent& in, std::int64_t now_ms) override {
    return b_->write([&](Connection& c) {
      return in_transaction<std::pair<CapacityEvent, bool>>(c, [&]() -> core::Result<std::pair<CapacityEvent, bool>> {
        const std::string key = event_key(in.rule, SeriesKey{in.ci_id, in.metric, in.attributes});
        auto held = open_event(c, key);
        if (!held) return std::move(held).error();
        if (*held) {
          CapacityEvent e = **held;
          e.value = in.value;
          e.threshold = in.threshold;
          e.predicted_ms = in.predicted_ms;
          e.summary = in.summary;
          e.updated_ms = now_ms;
          SURVEYOR_TRY_STMT(u, c,
                            "UPDATE events SET value = ?2, threshold = ?3, predicted_ms = ?4, summary = ?5, "
                            "updated_ms = ?6 WHERE id = ?1");
          u.bind(1, e.id).bind(2, e.value).bind(3, e.threshold);
          if (e.predicted_ms) u.bind(4, *e.predicted_ms);
          u.bind(5, e.summary).bind(6, now_ms);
          if (int rc = u.step(); rc != SQLITE_DONE) return c.error(rc, "update event");
          return std::pair{e, false};
        }
        CapacityEvent e = in;
        e.id = "evt-" + core::random_hex(8);
        e.state = "open";
        e.opened_ms = e.updated_ms = now_ms;
        e.resolved_ms = 0;
        SURVEYOR_TRY_STMT(i, c,
                          "INSERT INTO events(id, dedup_key, kind, rule, ci_id, metric, attributes, state, opened_ms, "
                          "updated_ms, resolved_ms, threshold, value, predicted_ms, summary) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?8, 0, ?9, ?10, ?11, ?12)");
        i.bind(1, e.id).bind(2, key).bind(3, e.kind).bind(4, e.rule).bind(5, e.ci_id).bind(6, e.metric);
        i.bind(7, labels_to_json(e.attributes)).bind(8, now_ms).bind(9, e.threshold).bind(10, e.value);
        if (e.predicted_ms) i.bind(11, *e.predicted_ms);
        i.bind(12, e.summary);
        if (int rc = i.step(); rc != SQLITE_DONE) return c.error(rc, "open event");
        return std::pair{e, true};
      });
    });
  }

  core::Result<std::optional<CapacityEvent>> resolve_event(std::string_view rule, const SeriesKey& series,
                                                           std::int64_t now_ms) override {
    return b_->write([&](Connection& c) {
      return in_transaction<std::optional<CapacityEvent>>(c, [&]() -> core::Result<std::optional<CapacityEvent>> {
        auto held = open_event(c, event_key(rule, series));
        if (!held || !*held) return held;
        SURVEYOR_TRY_STMT(u, c, "UPDATE events SET state = 'resolved', resolved_ms = ?2 WHERE id = ?1");
        u.bind(1, (*held)->id).bind(2, now_ms);
        if (int rc = u.step(); rc != SQLITE_DONE) return c.error(rc, "resolve event");
        (*held)->state = "resolved";
        (*held)->resolved_ms = now_ms;
        return held;
      });
    });
  }

  core::Result<std::vector<CapacityEvent>> list_events(const EventFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<CapacityEvent>> {
      SURVEYOR_TRY_STMT(s, c, event_list_sql(f));
      if (!f.state.empty() && f.state != "open") s.bind(1, f.state);
      if (!f.ci_id.empty()) s.bind(2, f.ci_id);
      if (!f.kind.empty()) s.bind(3, f.kind);
      s.bind(4, static_cast<std::int64_t>(std::min<std::size_t>(f.limit, INT64_MAX)));
      std::vector<CapacityEvent> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto e = read_event(s);
        if (!e) return std::move(e).error();
        out.push_back(std::move(*e));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "list events");
      return out;
    });
  }

  core::Result<std::size_t> prune_events(std::int64_t resolved_before_ms) override {
    return b_->write([&](Connection& c) {
      return in_transaction<std::size_t>(c, [&]() -> core::Result<std::size_t> {
        SURVEYOR_TRY_STMT(s, c, "DELETE FROM events WHERE state = 'resolved' AND resolved_ms < ?1");
        s.bind(1, resolved_before_ms);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "prune events");
        return static_cast<std::size_t>(c.changes());
      });
    });
  }

  core::Status save_hot_spots(std::string_view json, std::int64_t now_ms) override {
    return b_->write([&](Connection& c) -> core::Status {
      SURVEYOR_TRY_STMT(s, c,
                        "INSERT INTO hot_spots(id, json, updated_ms) VALUES(1, ?1, ?2) "
                        "ON CONFLICT(id) DO UPDATE SET json = excluded.json, updated_ms = excluded.updated_ms");
      s.bind(1, json).bind(2, now_ms);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "save hot spots");
      return {};
    });
  }

  core::Result<std::optional<std::pair<std::string, std::int64_t>>> hot_spots() override {
    using Out = std::optional<std::pair<std::string, std::int64_t>>;
    return b_->pool.with_reader([&](Connection& c) -> core::Result<Out> {
      SURVEYOR_TRY_STMT(s, c, "SELECT json, updated_ms FROM hot_spots WHERE id = 1");
      const int rc = s.step();
      if (rc == SQLITE_DONE) return Out{};
      if (rc != SQLITE_ROW) return c.error(rc, "read hot spots");
      return Out{std::make_pair(s.text(0), s.int64(1))};
    });
  }
};

std::shared_ptr<store::EventStore> make_event_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteEventStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
