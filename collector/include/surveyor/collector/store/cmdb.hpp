// SPDX-License-Identifier: Apache-2.0
// Configuration items: typed attributes, the CI record, how an update merges, and their store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// A typed attribute value of a configuration item.
using AttrValue = std::variant<std::string, std::int64_t, double, bool>;
using AttrMap = std::map<std::string, AttrValue, std::less<>>;

// JSON object text of an attribute map, keys in order; and back.
[[nodiscard]] std::string attrs_to_json(const AttrMap& m);
[[nodiscard]] core::Result<AttrMap> attrs_from_json(std::string_view text);

enum class CiState { active, missing, retired };
[[nodiscard]] std::string_view to_string(CiState s);
[[nodiscard]] std::optional<CiState> ci_state_from(std::string_view s);

struct Ci {
  std::string id;
  std::string type;  // host, cpu, disk, ...
  std::string name;
  std::string source;  // agent, user, api
  CiState state = CiState::active;
  AttrMap attributes;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t updated_ms = 0;  // last attribute change
  // Attributes a person or an integration set (origin user or api): agents
  // do not overwrite or remove them.
  std::vector<std::string> protected_keys;  // sorted
  friend bool operator==(const Ci&, const Ci&) = default;
};

// What an observation says about a CI: it was seen, and (perhaps) what some of
// its attributes are now. Keys under `replace_prefixes` that are not in
// `attributes` are removed; other existing keys are kept, so a section that
// could not be read leaves what was known before untouched.
struct CiUpdate {
  std::string id;
  std::string type;
  std::string name;  // empty: keep the current name
  std::string name_if_new;  // the name a CI created by this update gets when `name` is empty
  std::string source;
  std::string actor;  // the operator's token behind it (its audit entries name it); empty: none
  AttrMap attributes;
  std::vector<std::string> replace_prefixes;
  std::int64_t seen_at_ms = 0;
  // The state the CI is in after this update. None: an agent's update is a
  // sighting (active, seen at seen_at_ms); anyone else's keeps the state.
  // With a state, seen_at_ms is only when it changed.
  std::optional<CiState> state;
};

// A CI's protected keys as a JSON array text, and back (sorted).
[[nodiscard]] std::string keys_to_json(const std::vector<std::string>& keys);
[[nodiscard]] core::Result<std::vector<std::string>> keys_from_json(std::string_view text);

// The CI after applying `u` to what was stored (nullopt: a new CI).
[[nodiscard]] Ci merge_ci(const std::optional<Ci>& existing, const CiUpdate& u);

// Whether merge_ci would change nothing of a CI held in `state`, with the
// attributes and protected keys stored as `attributes_json` (attrs_to_json)
// and `protected_json` (keys_to_json), but the time it was last seen: an
// agent's sighting of attributes the CI holds already (most reports). Only
// the attributes `u` names are compared, without reading the CI whole.
// False when it cannot tell (bad text): the caller then merges in full.
[[nodiscard]] bool is_plain_sighting(const CiUpdate& u, CiState state, std::string_view attributes_json,
                                     std::string_view protected_json);

// The agent's update retiring a component gone from its host, as of now_ms;
// nothing when the CI is not held or is retired already.
[[nodiscard]] std::optional<CiUpdate> retirement(const std::optional<Ci>& held, std::int64_t now_ms);

struct CiFilter {
  std::string type;  // empty: any
  std::string name;  // exact name; empty: any
  std::string name_prefix;  // names that start with it (case matters); empty: any
  std::optional<CiState> state;  // none: any
  std::size_t limit = 1000;
  std::size_t offset = 0;
};

class CmdbStore {
 public:
  virtual ~CmdbStore() = default;
  // Creates or updates one CI as merge_ci() describes; returns it as stored.
  virtual core::Result<Ci> upsert_ci(const CiUpdate& u) = 0;
  virtual core::Result<std::optional<Ci>> find_ci(std::string_view id) = 0;
  // CIs matching the filter, ordered by name then id.
  virtual core::Result<std::vector<Ci>> list_cis(const CiFilter& f) = 0;
  // How many CIs the filter matches, whatever its limit and offset.
  virtual core::Result<std::size_t> count_cis(const CiFilter& f) = 0;
};

// Visits every CI of a type (all types when empty), in pages: `visit` returns
// true to go on, false to stop, or an error to stop with.
inline core::Status for_each_ci(CmdbStore& cmdb, std::string_view type,
                                const std::function<core::Result<bool>(const Ci&)>& visit) {
  constexpr std::size_t kPage = 500;
  for (std::size_t offset = 0;; offset += kPage) {
    CiFilter f;
    f.type = std::string(type);
    f.limit = kPage;
    f.offset = offset;
    auto cis = cmdb.list_cis(f);
    if (!cis) return std::move(cis).error();
    for (const Ci& ci : *cis) {
      auto more = visit(ci);
      if (!more) return std::move(more).error();
      if (!*more) return {};
    }
    if (cis->size() < kPage) return {};
  }
}

}  // namespace surveyor::collector::store
