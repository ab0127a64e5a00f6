// SPDX-License-Identifier: Apache-2.0
// Service definitions: the file format, the catalog that reloads changed
// files and keeps the last good definition of a broken one, and the walk
// from a service to the CIs it stands on.
#include "surveyor/collector/services/services.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include <date/tz.h>

#include "surveyor/config/options.hpp"

namespace surveyor::collector::services {
namespace {

using config::Type;
using config::Value;

constexpr std::string_view kServicePrefix = "service:";
constexpr std::uintmax_t kMaxFileBytes = 1 << 20;
constexpr std::size_t kMaxMembers = 10'000;

std::function<std::optional<std::string>(const Value&)> one_of(std::vector<std::string> allowed) {
  return [allowed = std::move(allowed)](const Value& v) -> std::optional<std::string> {
    const auto* s = std::get_if<std::string>(&v);
    if (s && std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return std::nullopt;
    std::string why = "must be one of";
    for (const std::string& a : allowed) why += " " + a;
    return why;
  };
}

std::shared_ptr<const config::Schema> group_schema() {
  static const auto schema = [] {
    auto s = std::make_shared<config::Schema>();
    s->add({.key = "name", .type = Type::string, .default_value = Value{std::string()},
            .description = "what the group is (frontends, database)"});
    s->add({.key = "members", .type = Type::string_list, .description = "CI ids or names, service:NAME, or check:HOST/CHECK (a check of the agent on HOST)",
            .required = true});
    s->add({.key = "redundancy", .type = Type::string, .default_value = Value{std::string("all")},
            .description = "all, any, at_least (see min) or percent (see percent)",
            .validate = one_of({"all", "any", "at_least", "percent"})});
    s->add({.key = "min", .type = Type::integer, .default_value = Value{std::int64_t{0}},
            .description = "at_least: members that must be up"});
    s->add({.key = "percent", .type = Type::number, .default_value = Value{0.0},
            .description = "percent: share of members (0-100] that must be up"});
    return std::shared_ptr<const config::Schema>(s);
  }();
  return schema;
}

std::shared_ptr<const config::Schema> service_schema() {
  static const auto schema = [] {
    auto s = std::make_shared<config::Schema>();
    s->add({.key = "name", .type = Type::string, .description = "unique service name", .required = true});
    s->add({.key = "owner", .type = Type::string, .description = "who answers for it", .required = true});
    s->add({.key = "criticality", .type = Type::string, .default_value = Value{std::string("medium")},
            .description = "low, medium, high or critical",
            .validate = one_of({"low", "medium", "high", "critical"})});
    s->add({.key = "description", .type = Type::string, .default_value = Value{std::string()},
            .description = "free text"});
    s->add({.key = "sla_target", .type = Type::number, .description = "availability target in percent, e.g. 99.9"});
    s->add({.key = "sla_degraded_is_down", .type = Type::boolean, .default_value = Value{false},
            .description = "whether time the service is degraded counts as downtime"});
    s->add({.key = "sla_period", .type = Type::string, .default_value = Value{std::string("month")},
            .description = "week, month or quarter", .validate = one_of({"week", "month", "quarter"})});
    s->add({.key = "sla_time_zone", .type = Type::string, .default_value = Value{std::string("UTC")},
            .description = "IANA time zone of the SLA's periods and service hours, e.g. Europe/Berlin"});
    s->add({.key = "sla_service_hours", .type = Type::string_list,
            .default_value = Value{std::vector<std::string>{}},
            .description = "agreed hours, e.g. [\"Mon-Fri 08:00-18:00\"]; empty: all the time"});
    s->add_table_array({.key = "group", .description = "dependencies with a redundancy rule", .schema = group_schema()});
    s->add_table_array({.key = "capacity_rule",
                        .description = "capacity thresholds for the member CIs",
                        .schema = capacity::rule_schema()});
    return std::shared_ptr<const config::Schema>(s);
  }();
  return schema;
}

core::Error bad(const config::Settings& s, const std::string& key, const std::string& why) {
  return core::make_error(config::ConfigErrc::invalid_value, s.origin(key) + ": " + key + ": " + why);
}

constexpr std::size_t kMaxServiceHours = 100;
constexpr std::string_view kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

// Whether the tz database knows the zone ("UTC" needs no database).
bool known_time_zone(const std::string& name) {
  if (name == "UTC") return true;
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {  // unknown, or no tz database at all
    return false;
  }
}

std::optional<int> day_index(std::string_view d) {
  for (int i = 0; i < 7; ++i)
    if (kDays[i] == d) return i;
  return std::nullopt;
}

// "HH:MM" as minutes after midnight, 00:00 to 24:00.
std::optional<int> minute_of_day(std::string_view t) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (t.size() != 5 || t[2] != ':' || !digit(t[0]) || !digit(t[1]) || !digit(t[3]) || !digit(t[4]))
    return std::nullopt;
  const int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

std::string hhmm(int minutes) {
  char b[16];
  std::snprintf(b, sizeof b, "%02d:%02d", (minutes / 60) % 100, minutes % 60);
  return b;
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

}  // namespace

std::size_t Redundancy::required(std::size_t n) const {
  switch (kind) {
    case Kind::all: return n;
    case Kind::any: return n == 0 ? 0 : 1;
    case Kind::at_least: return static_cast<std::size_t>(std::min<std::int64_t>(min, static_cast<std::int64_t>(n)));
    case Kind::percent: {
      // The smallest count whose share reaches the percentage (exactly: 2 of 3 is 66.67 %).
      const double need = std::ceil(static_cast<double>(n) * percent / 100.0 - 1e-9);
      return static_cast<std::size_t>(std::clamp(need, 0.0, static_cast<double>(n)));
    }
  }
  return n;
}

std::string describe(const Redundancy& r) {
  switch (r.kind) {
    case Redundancy::Kind::all: return "all";
    case Redundancy::Kind::any: return "any";
    case Redundancy::Kind::at_least: return "at least " + std::to_string(r.min);
    case Redundancy::Kind::percent: {
      std::ostringstream o;
      o << "at least " << r.percent << " %";
      return o.str();
    }
  }
  return "?";
}

core::Result<ServiceHours> parse_service_hours(std::string_view text) {
  auto fail = [text](const std::string& why) {
    return core::make_error(config::ConfigErrc::invalid_value, "\"" + std::string(text) + "\": " + why);
  };
  const std::string form = "write DAYS HH:MM-HH:MM, e.g. \"Mon-Fri 08:00-18:00\" or \"Sat 09:00-13:00\"";
  const auto space = text.find(' ');
  if (space == std::string_view::npos || text.find(' ', space + 1) != std::string_view::npos) return fail(form);
  const std::string_view days = text.substr(0, space), times = text.substr(space + 1);
  ServiceHours h;
  const auto dash = days.find('-');
  const std::string_view first = days.substr(0, dash);
  const std::string_view last = dash == std::string_view::npos ? first : days.substr(dash + 1);
  for (std::string_view d : {first, last})
    if (!day_index(d)) return fail("unknown day '" + std::string(d) + "' (Mon, Tue, Wed, Thu, Fri, Sat or Sun)");
  h.first_day = *day_index(first);
  h.last_day = *day_index(last);
  if (h.last_day < h.first_day) {
    const std::string to_sunday = first == "Sun" ? "Sun" : std::string(first) + "-Sun";
    const std::string from_monday = last == "Mon" ? "Mon" : "Mon-" + std::string(last);
    return fail("days run from Mon to Sun and " + std::string(days) + " goes backwards; write it as two entries (\"" +
                to_sunday + " ...\" and \"" + from_monday + " ...\")");
  }
  const auto tdash = times.find('-');
  if (tdash == std::string_view::npos) return fail(form);
  const std::string_view from = times.substr(0, tdash), to = times.substr(tdash + 1);
  for (std::string_view t : {from, to})
    if (!minute_of_day(t)) return fail("'" + std::string(t) + "' is not a time of day HH:MM from 00:00 to 24:00");
  h.start_minute = *minute_of_day(from);
  h.end_minute = *minute_of_day(to);
  if (h.start_minute == 1440) return fail("24:00 can only end a window");
  if (h.end_minute <= h.start_minute)
    return fail("the end must be after the start; a window past midnight is two entries, e.g. \"Mon 22:00-24:00\" "
                "and \"Tue 00:00-06:00\"");
  return h;
}

std::string describe(const ServiceHours& h) {
  std::string days(kDays[h.first_day % 7]);
  if (h.last_day != h.first_day) days += "-" + std::string(kDays[h.last_day % 7]);
  return days + " " + hhmm(h.start_minute) + "-" + hhmm(h.end_minute);
}

core::Result<Service> parse_service(std::string_view toml, const std::string& source_name) {
  auto settings = config::load_string(*service_schema(), toml, source_name);
  if (!settings) return std::move(settings).error();
  const config::Settings& s = *settings;
  if (auto st = config::check_required(*service_schema(), s); !st)
    return core::Error{st.error().code, source_name + ": " + st.error().message};
  Service svc;
  svc.file = source_name;
  svc.name = s.str("name");
  if (!valid_name(svc.name)) return bad(s, "name", "use 1-128 letters, digits, '-', '_' or '.'");
  svc.owner = s.str("owner");
  if (svc.owner.empty()) return bad(s, "owner", "must not be empty");
  svc.criticality = s.str("criticality");
  svc.description = s.str("description");
  if (s.has("sla_target")) {
    const double t = s.number("sla_target");
    if (!(t > 0 && t <= 100)) return bad(s, "sla_target", "must be a percentage in (0, 100]");
    svc.sla = Sla{t, s.str("sla_period"), s.flag("sla_degraded_is_down"), s.str("sla_time_zone"), {}};
    if (!known_time_zone(svc.sla->time_zone))
      return bad(s, "sla_time_zone",
                 "unknown time zone '" + svc.sla->time_zone + "' (an IANA name such as Europe/Berlin or UTC)");
    const std::vector<std::string>& hours = s.list("sla_service_hours");
    if (hours.size() > kMaxServiceHours)
      return bad(s, "sla_service_hours", "more than " + std::to_string(kMaxServiceHours) + " entries");
    for (const std::string& text : hours) {
      auto h = parse_service_hours(text);
      if (!h) return bad(s, "sla_service_hours", h.error().message);
      svc.sla->service_hours.push_back(*h);
    }
  }
  std::size_t members = 0;
  for (const config::Settings& g : s.tables("group")) {
    Group group;
    group.name = g.str("name");
    group.members = g.list("members");
    if (group.members.empty()) return bad(g, "members", "a group needs at least one member");
    members += group.members.size();
    if (members > kMaxMembers) return bad(g, "members", "more than " + std::to_string(kMaxMembers) + " members");
    for (const std::string& m : group.members) {
      if (m.empty()) return bad(g, "members", "an empty member");
      if (m.starts_with(kServicePrefix) && m.substr(kServicePrefix.size()) == svc.name)
        return bad(g, "members", "the service depends on itself");
    }
    const std::string& kind = g.str("redundancy");
    const auto n = static_cast<std::int64_t>(group.members.size());
    if (kind == "all") {
      group.redundancy.kind = Redundancy::Kind::all;
    } else if (kind == "any") {
      group.redundancy.kind = Redundancy::Kind::any;
    } else if (kind == "at_least") {
      group.redundancy.kind = Redundancy::Kind::at_least;
      group.redundancy.min = g.integer("min");
      if (group.redundancy.min < 1 || group.redundancy.min > n)
        return bad(g, "min", "must be between 1 and the number of members (" + std::to_string(n) + ")");
    } else {
      group.redundancy.kind = Redundancy::Kind::percent;
      group.redundancy.percent = g.number("percent");
      if (!(group.redundancy.percent > 0 && group.redundancy.percent <= 100))
        return bad(g, "percent", "must be in (0, 100]");
    }
    svc.groups.push_back(std::move(group));
  }
  std::set<std::string> rule_names;
  for (const config::Settings& t : s.tables("capacity_rule")) {
    auto rule = capacity::rule_from_settings(t);
    if (!rule) return core::Error{rule.error().code, t.origin("name") + ": " + rule.error().message};
    if (!rule_names.insert(rule->name).second) return bad(t, "name", "rule '" + rule->name + "' is defined twice");
    svc.capacity_rules.push_back(std::move(*rule));
  }
  return svc;
}

Catalog::Catalog(std::filesystem::path dir, std::shared_ptr<store::ServiceStore> store)
    : dir_(std::move(dir)), store_(std::move(store)) {}

Catalog::RefreshReport Catalog::refresh() {
  RefreshReport rep;
  if (store_) {
    auto version = store_->services_version();
    std::lock_guard lock(mu_);
    if (!version) {
      api_errors_ = {{"store", "service definitions could not be read: " + version.error().describe()}};
    } else if (*version != store_version_) {
      auto stored = store_->list_services();
      if (!stored) {
        api_errors_ = {{"store", "service definitions could not be read: " + stored.error().describe()}};
      } else {
        api_.clear();
        api_errors_.clear();
        for (const store::StoredService& sv : *stored) {
          auto svc = parse_service(sv.definition, "api:" + sv.name);
          if (svc) api_.emplace(svc->name, std::move(*svc));
          else api_errors_.push_back({"api:" + sv.name, svc.error().message});
        }
        store_version_ = *version;
        ++generation_;
      }
    }
  }
  if (dir_.empty()) {
    std::lock_guard lock(mu_);
    rep.errors = api_errors_;
    return rep;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> present;
  if (fs::is_directory(dir_, ec)) {
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() != ".toml" || !it->is_regular_file(ec)) continue;
      const auto size = it->file_size(ec);
      const auto mtime = it->last_write_time(ec);
      if (!ec) present[it->path().string()] = {size, mtime};
    }
  }
  std::lock_guard lock(mu_);
  for (auto it = files_.begin(); it != files_.end();) {
    if (present.contains(it->first)) {
      ++it;
    } else {
      it = files_.erase(it);
      ++generation_;
    }
  }
  for (const auto& [path, stamp] : present) {
    FileState& st = files_[path];
    if (st.size == stamp.first && st.mtime == stamp.second && (st.good || st.error)) continue;
    st.size = stamp.first;
    st.mtime = stamp.second;
    std::string text;
    if (stamp.first > kMaxFileBytes) {
      st.error = path + ": larger than 1 MiB";
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in.good() && !in.eof()) {
      st.error = path + ": cannot be read";
      continue;
    }
    auto svc = parse_service(buf.str(), path);
    if (!svc) {
      st.error = svc.error().message;
      continue;
    }
    st.good = std::move(*svc);
    st.error.reset();
    ++rep.loaded;
    ++generation_;
  }
  // A name defined by two files: the first file (by path) keeps it; the
  // other keeps its definition aside, in use again once the first goes.
  std::map<std::string, std::string> owner_of;
  for (auto& [path, st] : files_) {
    st.shadowed.reset();
    if (!st.good) continue;
    auto [it, added] = owner_of.emplace(st.good->name, path);
    if (!added) st.shadowed = path + ": service '" + st.good->name + "' is already defined in " + it->second;
  }
  for (const auto& [path, st] : files_) {
    if (st.error) rep.errors.push_back({path, *st.error});
    if (st.shadowed) rep.errors.push_back({path, *st.shadowed});
  }
  rep.errors.insert(rep.errors.end(), api_errors_.begin(), api_errors_.end());
  return rep;
}

std::uint64_t Catalog::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::vector<Service> Catalog::list() const {
  std::lock_guard lock(mu_);
  std::vector<Service> out;
  for (const auto& [path, st] : files_)
    if (st.good && !st.shadowed) out.push_back(*st.good);
  for (const auto& entry : api_)
    if (std::none_of(out.begin(), out.end(), [&entry](const Service& s) { return s.name == entry.first; }))
      out.push_back(entry.second);
  std::sort(out.begin(), out.end(), [](const Service& a, const Service& b) { return a.name < b.name; });
  return out;
}

std::optional<Service> Catalog::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& [path, st] : files_)
    if (st.good && !st.shadowed && st.good->name == name) return st.good;
  if (auto it = api_.find(std::string(name)); it != api_.end()) return it->second;
  return std::nullopt;
}

std::vector<Catalog::FileError> Catalog::errors() const {
  std::lock_guard lock(mu_);
  std::vector<FileError> out;
  for (const auto& [path, st] : files_) {
    if (st.error) out.push_back({path, *st.error});
    if (st.shadowed) out.push_back({path, *st.shadowed});
  }
  out.insert(out.end(), api_errors_.begin(), api_errors_.end());
  return out;
}

core::Result<std::optional<store::Ci>> resolve_ci(store::CmdbStore& cmdb, std::string_view ref) {
  auto byid = cmdb.find_ci(ref);
  if (!byid) return std::move(byid).error();
  if (*byid) return byid;
  store::CiFilter f;
  f.name = std::string(ref);
  f.limit = 2;
  auto named = cmdb.list_cis(f);
  if (!named) return std::move(named).error();
  if (named->size() != 1) return std::optional<store::Ci>{};
  return std::optional<store::Ci>{std::move(named->front())};
}

core::Result<Members> member_cis(const Catalog& catalog, store::CmdbStore& cmdb, std::string_view service) {
  Members out;
  std::set<std::string, std::less<>> seen_services, seen_cis;
  std::vector<std::string> pending{std::string(service)};
  while (!pending.empty()) {
    const std::string name = std::move(pending.back());
    pending.pop_back();
    if (!seen_services.insert(name).second) continue;
    auto svc = catalog.find(name);
    if (!svc) {
      out.unresolved.push_back(std::string(kServicePrefix) + name);
      continue;
    }
    std::vector<std::string> nested;
    for (const Group& g : svc->groups)
      for (const std::string& m : g.members) {
        if (m.starts_with(kServicePrefix)) {
          nested.push_back(m.substr(kServicePrefix.size()));
          continue;
        }
        auto ci = resolve_ci(cmdb, m);
        if (!ci) return std::move(ci).error();
        if (!*ci) {
          out.unresolved.push_back(m);
          continue;
        }
        if (seen_cis.insert((*ci)->id).second) out.cis.push_back(std::move(**ci));
      }
    // Depth first, in the order written.
    pending.insert(pending.end(), nested.rbegin(), nested.rend());
  }
  return out;
}

core::Result<std::vector<capacity::CapacityRule>> service_rules(const Catalog& catalog, store::CmdbStore& cmdb) {
  std::vector<capacity::CapacityRule> out;
  for (const Service& svc : catalog.list()) {
    if (svc.capacity_rules.empty()) continue;
    auto members = member_cis(catalog, cmdb, svc.name);
    if (!members) return std::move(members).error();
    std::vector<std::string> ids;
    for (const store::Ci& ci : members->cis) ids.push_back(ci.id);
    for (capacity::CapacityRule r : svc.capacity_rules) {
      r.name = svc.name + "/" + r.name;
      r.ci_ids = ids;  // none resolved: the rule applies to no CI
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace surveyor::collector::services
