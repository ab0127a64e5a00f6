// SPDX-License-Identifier: Apache-2.0
// Operators' tokens and enrollment grants on SQLite.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteCredentialStore final : public Bound<CredentialStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_token(const OperatorToken& t) override {
    return b_->write([&](Connection& c) -> core::Result<bool> {
      SURVEYOR_TRY_STMT(s, c,
                        "INSERT INTO tokens(name, role, hash, created_ms, expires_ms, revoked_ms) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(name) DO NOTHING");
      s.bind(1, t.name).bind(2, to_string(t.role)).bind(3, t.hash).bind(4, t.created_ms).bind(5, t.expires_ms);
      s.bind(6, t.revoked_ms);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "add token " + t.name);
      return c.changes() == 1;
    });
  }

  core::Result<std::optional<OperatorToken>> token_by_hash(std::string_view hash) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<OperatorToken>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT " + std::string(kTokenColumns) + " FROM tokens WHERE hash = ?1");
      s.bind(1, hash);
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::optional<OperatorToken>{};
      if (rc != SQLITE_ROW) return c.error(rc, "read token");
      auto t = token_of(s);
      if (!t) return std::move(t).error();
      return std::optional<OperatorToken>{std::move(*t)};
    });
  }

  core::Result<std::vector<OperatorToken>> list_tokens() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<OperatorToken>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT " + std::string(kTokenColumns) + " FROM tokens ORDER BY name");
      std::vector<OperatorToken> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto t = token_of(s);
        if (!t) return std::move(t).error();
        out.push_back(std::move(*t));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "list tokens");
      return out;
    });
  }

  core::Result<bool> revoke_token(std::string_view name, std::int64_t now_ms) override {
    return revoke("UPDATE tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms = 0", name, now_ms);
  }

  core::Status add_grant(const EnrollmentGrant& g) override {
    return b_->write([&](Connection& c) -> core::Status {
      SURVEYOR_TRY_STMT(s, c,
                        "INSERT INTO enrollment_grants(id, hash, uses, used, created_ms, expires_ms, revoked_ms) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      s.bind(1, g.id).bind(2, g.hash).bind(3, g.uses).bind(4, g.used).bind(5, g.created_ms).bind(6, g.expires_ms);
      s.bind(7, g.revoked_ms);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "add enrollment grant " + g.id);
      return {};
    });
  }

  core::Result<std::vector<EnrollmentGrant>> list_grants() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<EnrollmentGrant>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT " + std::string(kGrantColumns) + " FROM enrollment_grants ORDER BY id");
      std::vector<EnrollmentGrant> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(grant_of(s));
      if (rc != SQLITE_DONE) return c.error(rc, "list enrollment grants");
      return out;
    });
  }

  core::Result<bool> revoke_grant(std::string_view id, std::int64_t now_ms) override {
    return revoke("UPDATE enrollment_grants SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms = 0", id, now_ms);
  }

  core::Result<GrantUse> use_grant(std::string_view hash, std::int64_t now_ms) override {
    return b_->write([&](Connection& c) -> core::Result<GrantUse> {
      return in_transaction<GrantUse>(c, [&]() -> core::Result<GrantUse> {
        SURVEYOR_TRY_STMT(s, c, "SELECT " + std::string(kGrantColumns) + " FROM enrollment_grants WHERE hash = ?1");
        s.bind(1, hash);
        const int rc = s.step();
        if (rc == SQLITE_DONE) return GrantUse::unknown;
        if (rc != SQLITE_ROW) return c.error(rc, "read enrollment grant");
        const EnrollmentGrant g = grant_of(s);
        const GrantUse use = grant_use(g, now_ms);
        if (use != GrantUse::accepted) return use;
        SURVEYOR_TRY_STMT(u, c, "UPDATE enrollment_grants SET used = used + 1 WHERE id = ?1");
        u.bind(1, g.id);
        if (int e = u.step(); e != SQLITE_DONE) return c.error(e, "use enrollment grant");
        return GrantUse::accepted;
      });
    });
  }

 private:
  static constexpr std::string_view kTokenColumns = "name, role, hash, created_ms, expires_ms, revoked_ms";
  static constexpr std::string_view kGrantColumns = "id, hash, uses, used, created_ms, expires_ms, revoked_ms";

  static core::Result<OperatorToken> token_of(Stmt& s) {
    OperatorToken t;
    t.name = s.text(0);
    auto role = role_from(s.text(1));
    if (!role) return core::make_error(StoreErrc::corrupt, "token " + t.name + " has an unknown role");
    t.role = *role;
    t.hash = s.text(2);
    t.created_ms = s.int64(3);
    t.expires_ms = s.int64(4);
    t.revoked_ms = s.int64(5);
    return t;
  }

  static EnrollmentGrant grant_of(Stmt& s) {
    return {s.text(0), s.text(1), s.int64(2), s.int64(3), s.int64(4), s.int64(5), s.int64(6)};
  }

  core::Result<bool> revoke(const char* sql, std::string_view key, std::int64_t now_ms) {
    return b_->write([&](Connection& c) -> core::Result<bool> {
      SURVEYOR_TRY_STMT(s, c, sql);
      s.bind(1, key).bind(2, now_ms);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "revoke");
      return c.changes() == 1;
    });
  }
};

std::shared_ptr<store::CredentialStore> make_credential_store(std::shared_ptr<Backend> b) {
  return std::make_shared<SqliteCredentialStore>(std::move(b));
}

}  // namespace surveyor::collector::sqlite
