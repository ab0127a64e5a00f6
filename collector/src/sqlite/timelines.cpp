// SPDX-License-Identifier: Apache-2.0
// Availability timelines and the evaluation lease on SQLite.
#include <span>

#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteTimelineStore final : public Bound<TimelineStore> {
 public:
  using Bound::Bound;

  // A transaction per kStatesPerWrite subjects: a step of 10,000 hosts held
  // the writer for 33 to 75 ms in one (ingest waited behind it). A step cut
  // short is evaluated again from the same instant (the pulse is set after
  // it), and each subject's part already written is skipped, its timeline
  // ending there already.
  static constexpr std::size_t kStatesPerWrite = 512;

  core::Status record_states(const std::vector<StateInterval>& all) override {
    for (std::size_t from = 0; from < all.size(); from += kStatesPerWrite) {
      const std::span<const StateInterval> part(all.data() + from, std::min(kStatesPerWrite, all.size() - from));
      if (auto st = record_part(part); !st) return st;
    }
    return {};
  }

  core::Status record_part(std::span<const StateInterval> states) {
    auto r = b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(last, c,
                          "SELECT start_ms, end_ms, state FROM timeline WHERE subject = ?1 "
                          "ORDER BY start_ms DESC LIMIT 1");
        SURVEYOR_TRY_STMT(ext, c, "UPDATE timeline SET end_ms = ?3 WHERE subject = ?1 AND start_ms = ?2");
        SURVEYOR_TRY_STMT(ins, c, "INSERT INTO timeline(subject, start_ms, end_ms, state) VALUES(?1, ?2, ?3, ?4)");
        for (const StateInterval& iv : states) {
          last.reset();
          last.bind(1, iv.subject);
          const int rc = last.step();
          if (rc != SQLITE_ROW && rc != SQLITE_DONE) return c.error(rc, "read timeline");
          std::int64_t from = iv.start_ms;
          if (rc == SQLITE_ROW) {
            const std::int64_t start = last.int64(0), end = last.int64(1);
            const std::string held = last.text(2);
            from = std::max(from, end);
            if (from >= iv.end_ms) continue;
            if (held == to_string(iv.state) && from == end) {
              ext.reset();
              ext.bind(1, iv.subject).bind(2, start).bind(3, iv.end_ms);
              if (int e = ext.step(); e != SQLITE_DONE) return c.error(e, "extend timeline");
              continue;
            }
          }
          if (from >= iv.end_ms) continue;
          ins.reset();
          ins.bind(1, iv.subject).bind(2, from).bind(3, iv.end_ms).bind(4, to_string(iv.state));
          if (int e = ins.step(); e != SQLITE_DONE) return c.error(e, "write timeline");
        }
        return true;
      });
    });
    if (!r) return std::move(r).error();
    return {};
  }

  core::Result<std::vector<StateInterval>> read_timeline(std::string_view subject, std::int64_t from_ms,
                                                         std::int64_t to_ms) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<StateInterval>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT start_ms, end_ms, state FROM timeline WHERE subject = ?1 AND end_ms > ?2 "
                        "AND start_ms < ?3 ORDER BY start_ms");
      s.bind(1, subject).bind(2, from_ms).bind(3, to_ms);
      std::vector<StateInterval> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto state = availability_from(s.text(2));
        if (!state) return core::make_error(StoreErrc::corrupt, "timeline of " + std::string(subject) + ": bad state");
        out.push_back({std::string(subject), s.int64(0), s.int64(1), *state});
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read timeline");
      return out;
    });
  }

  core::Result<std::int64_t> evaluated_until() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::int64_t> {
      SURVEYOR_TRY_STMT(s, c, "SELECT value FROM counters WHERE name = 'availability_until'");
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::int64_t{0};
      if (rc != SQLITE_ROW) return c.error(rc, "read pulse");
      return s.int64(0);
    });
  }

  core::Status set_evaluated_until(std::int64_t t_ms) override {
    auto r = b_->write([&](Connection& c) -> core::Result<bool> {
      SURVEYOR_TRY_STMT(s, c,
                        "INSERT INTO counters(name, value) VALUES('availability_until', ?1) "
                        "ON CONFLICT(name) DO UPDATE SET value = MAX(value, ?1)");
      s.bind(1, t_ms);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write pulse");
      return true;
    });
    if (!r) return std::move(r).error();
    return {};
  }
};

// One collector per SQLite file, but the lease is kept all the same (the
// same contract as on Redis, and a second process would respect it).
class SqliteLeaseStore final : public Bound<LeaseStore> {
 public:
  using Bound::Bound;

  core::Result<bool> acquire_lease(std::string_view name, std::string_view holder, std::int64_t now_ms,
                                   std::int64_t ttl_ms) override {
    return b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO leases(name, holder, until_ms) VALUES(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE "
                          "SET holder = ?2, until_ms = ?3 WHERE leases.holder = ?2 OR leases.until_ms <= ?4");
        s.bind(1, name).bind(2, holder).bind(3, now_ms + ttl_ms).bind(4, now_ms);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "take lease");
        return c.changes() == 1;
      });
    });
  }
};

std::shared_ptr<store::TimelineStore> make_timeline_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteTimelineStore>(std::move(b)); }

std::shared_ptr<store::LeaseStore> make_lease_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteLeaseStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
