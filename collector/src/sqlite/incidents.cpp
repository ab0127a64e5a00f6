// SPDX-License-Identifier: Apache-2.0
// Incidents and the webhook delivery log on SQLite.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteIncidentStore final : public Bound<IncidentStore> {
 public:
  using Bound::Bound;

  core::Result<std::optional<Incident>> update_incident_by_key(std::string_view key, const Change& change) override {
    return update("dedup_key = ?1 ORDER BY number DESC LIMIT 1", key, false, change);
  }

  core::Result<std::optional<Incident>> update_incident(std::string_view id, const Change& change) override {
    return update("id = ?1", id, true, change);
  }

  core::Result<std::optional<Incident>> find_incident(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<Incident>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT doc FROM incidents WHERE id = ?1");
      s.bind(1, id);
      return read_one(c, s);
    });
  }

  core::Result<std::vector<Incident>> list_incidents(const IncidentFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Incident>> {
      std::string states;
      for (IncidentState st : f.states) states += (states.empty() ? "" : ",") + std::string(to_string(st));
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT doc FROM incidents WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR subject = ?2) "
                        "AND priority <= ?3 AND opened_ms >= ?4 AND opened_ms < ?5 "
                        "AND (?6 = '' OR instr(',' || ?6 || ',', ',' || state || ',') > 0) "
                        "ORDER BY opened_ms DESC, number DESC LIMIT ?7");
      s.bind(1, f.kind ? std::string(to_string(*f.kind)) : std::string()).bind(2, f.subject);
      s.bind(3, std::int64_t{f.max_priority}).bind(4, f.opened_from_ms).bind(5, f.opened_to_ms).bind(6, states);
      s.bind(7, static_cast<std::int64_t>(std::min<std::size_t>(f.limit, INT64_MAX)));
      std::vector<Incident> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto i = incident_from_json(s.text(0));
        if (!i) return std::move(i).error();
        out.push_back(std::move(*i));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read incidents");
      return out;
    });
  }

  core::Status record_delivery(const Delivery& d) override {
    auto r = b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO deliveries(time_ms, webhook, message_id, incidents, attempt, status, error, "
                          "delivered) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        std::string ids;
        for (const std::string& i : d.incidents) ids += (ids.empty() ? "" : ",") + i;
        s.bind(1, d.time_ms).bind(2, d.webhook).bind(3, d.message_id).bind(4, ids);
        s.bind(5, std::int64_t{d.attempt}).bind(6, std::int64_t{d.status}).bind(7, d.error);
        s.bind(8, std::int64_t{d.delivered});
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write delivery");
        SURVEYOR_TRY_STMT(trim, c, "DELETE FROM deliveries WHERE seq <= (SELECT MAX(seq) FROM deliveries) - ?1");
        trim.bind(1, static_cast<std::int64_t>(kDeliveryLogSize));
        if (int rc = trim.step(); rc != SQLITE_DONE) return c.error(rc, "trim deliveries");
        return true;
      });
    });
    if (!r) return std::move(r).error();
    return {};
  }

  core::Result<std::vector<Delivery>> list_deliveries(std::size_t limit) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Delivery>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT time_ms, webhook, message_id, incidents, attempt, status, error, delivered "
                        "FROM deliveries ORDER BY seq DESC LIMIT ?1");
      s.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
      std::vector<Delivery> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        Delivery d;
        d.time_ms = s.int64(0);
        d.webhook = s.text(1);
        d.message_id = s.text(2);
        const std::string all_ids = s.text(3);
        for (std::string_view ids = all_ids; !ids.empty();) {
          const auto comma = ids.find(',');
          d.incidents.emplace_back(ids.substr(0, comma));
          ids = comma == std::string_view::npos ? std::string_view{} : ids.substr(comma + 1);
        }
        d.attempt = static_cast<int>(s.int64(4));
        d.status = static_cast<int>(s.int64(5));
        d.error = s.text(6);
        d.delivered = s.int64(7) != 0;
        out.push_back(std::move(d));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read deliveries");
      return out;
    });
  }

 private:
  static core::Result<std::optional<Incident>> read_one(Connection& c, Stmt& s) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Incident>{};
    if (rc != SQLITE_ROW) return c.error(rc, "read incident");
    auto i = incident_from_json(s.text(0));
    if (!i) return std::move(i).error();
    return std::optional<Incident>{std::move(*i)};
  }

  core::Result<std::optional<Incident>> update(const char* where, std::string_view arg, bool must_exist,
                                               const Change& change) {
    return b_->write([&](Connection& c) {
      return in_transaction<std::optional<Incident>>(c, [&]() -> core::Result<std::optional<Incident>> {
        std::optional<Incident> old;
        {
          SURVEYOR_TRY_STMT(s, c, std::string("SELECT doc FROM incidents WHERE ") + where);
          s.bind(1, arg);
          auto r = read_one(c, s);
          if (!r) return std::move(r).error();
          old = std::move(*r);
        }
        auto updated = incident_update(old, must_exist ? arg : std::string_view(), change,
                                       [&c]() -> core::Result<std::int64_t> {
                                         if (auto st = bump_counter(c, "incidents"); !st) return std::move(st).error();
                                         SURVEYOR_TRY_STMT(n, c, "SELECT value FROM counters WHERE name = 'incidents'");
                                         if (int rc = n.step(); rc != SQLITE_ROW) return c.error(rc, "number incident");
                                         return n.int64(0);
                                       });
        if (!updated || !*updated) return updated;
        std::optional<Incident>& next = *updated;
        const std::int64_t number = std::stoll(next->id.substr(4));
        SURVEYOR_TRY_STMT(w, c,
                          "INSERT INTO incidents(id, number, dedup_key, kind, subject, state, priority, opened_ms, doc) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO UPDATE SET dedup_key = ?3, "
                          "kind = ?4, subject = ?5, state = ?6, priority = ?7, opened_ms = ?8, doc = ?9");
        w.bind(1, next->id).bind(2, number).bind(3, next->key).bind(4, to_string(next->kind)).bind(5, next->subject);
        w.bind(6, to_string(next->state)).bind(7, std::int64_t{next->priority}).bind(8, next->opened_ms);
        w.bind(9, incident_to_json(*next));
        if (int rc = w.step(); rc != SQLITE_DONE) return c.error(rc, "write incident");
        return next;
      });
    });
  }
};

std::shared_ptr<store::IncidentStore> make_incident_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteIncidentStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
