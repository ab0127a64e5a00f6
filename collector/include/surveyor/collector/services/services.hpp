// SPDX-License-Identifier: Apache-2.0
// Business services, defined by their owners in TOML files (one service per
// file, in the collector's services_dir): who owns them, how critical they
// are, what they depend on (CIs and other services, in groups with a
// redundancy rule), their SLA target and their capacity thresholds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::services {

// How many members of a group must be up for the group to be up.
struct Redundancy {
  enum class Kind { all, any, at_least, percent };
  Kind kind = Kind::all;
  std::int64_t min = 0;  // at_least: members that must be up
  double percent = 0;    // percent: share of members that must be up (0-100]
  // The members that must be up out of `n`.
  [[nodiscard]] std::size_t required(std::size_t n) const;
};
[[nodiscard]] std::string describe(const Redundancy& r);

// A member reference: "service:NAME", or a CI id, or a unique CI name.
struct Group {
  std::string name;
  std::vector<std::string> members;
  Redundancy redundancy;
};

// One line of service hours (docs/sla.md): local time [start, end) on each
// day from first_day to last_day (0 Monday ... 6 Sunday).
struct ServiceHours {
  int first_day = 0, last_day = 6;          // first_day <= last_day
  int start_minute = 0, end_minute = 1440;  // after local midnight; start < end <= 1440
  friend bool operator==(const ServiceHours&, const ServiceHours&) = default;
};
// "Mon-Fri 08:00-18:00", "Sat 09:00-13:00", "Mon-Sun 00:00-24:00": a day or
// a range of days in Mon..Sun order, a space, HH:MM-HH:MM with the end after
// the start (24:00 only as the end). The error message says what is wrong.
[[nodiscard]] core::Result<ServiceHours> parse_service_hours(std::string_view text);
// The same text back ("Mon-Fri 08:00-18:00").
[[nodiscard]] std::string describe(const ServiceHours& h);

struct Sla {
  double target_percent = 0;  // e.g. 99.9
  std::string period;         // week, month or quarter
  bool degraded_is_down = false;
  std::string time_zone = "UTC";            // IANA name: the calendar of periods and service hours
  std::vector<ServiceHours> service_hours;  // the agreed hours; empty: all the time
};

struct Service {
  std::string name;
  std::string owner;
  std::string criticality;  // low, medium, high, critical
  std::string description;
  std::optional<Sla> sla;
  std::vector<Group> groups;
  std::vector<capacity::CapacityRule> capacity_rules;  // as written (names not yet prefixed)
  std::string file;  // where it was defined
};

// The TOML of one service file; errors name the file, the line and the key.
[[nodiscard]] core::Result<Service> parse_service(std::string_view toml, const std::string& source_name);

// Services as loaded from a directory of *.toml files (and the store). A file that fails to
// load keeps the definition it last loaded successfully (if any), and its
// error is reported until it is fixed. Thread-safe.
class Catalog {
 public:
  // `store`: services defined through the API as well (files win a name
  // both define).
  explicit Catalog(std::filesystem::path dir = {}, std::shared_ptr<store::ServiceStore> store = nullptr);

  struct FileError {
    std::string file;
    std::string message;
  };
  struct RefreshReport {
    std::size_t loaded = 0;  // files (re)read successfully
    std::vector<FileError> errors;
  };
  // Re-reads the files that changed since the last call (by size and
  // modification time), and forgets services whose file is gone.
  RefreshReport refresh();

  [[nodiscard]] std::vector<Service> list() const;  // by name
  [[nodiscard]] std::optional<Service> find(std::string_view name) const;
  [[nodiscard]] std::vector<FileError> errors() const;
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  // Changes whenever the set of definitions in use changes.
  [[nodiscard]] std::uint64_t generation() const;

 private:
  struct FileState {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime{};
    std::optional<Service> good;  // last good definition
    std::optional<std::string> error;  // the file's own error
    std::optional<std::string> shadowed;  // its service is defined by an earlier file
  };
  std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;  // by path
  std::shared_ptr<store::ServiceStore> store_;
  std::int64_t store_version_ = -1;
  std::map<std::string, Service> api_;  // defined through the API, by name
  std::vector<FileError> api_errors_;
  std::uint64_t generation_ = 0;
};

// The CIs a service stands on: the CI members of its groups and, through
// "service:NAME" members, of the services it depends on (each service once,
// so cycles end). `unresolved` gets the references that name nothing.
struct Members {
  std::vector<store::Ci> cis;  // each once, in the order first reached
  std::vector<std::string> unresolved;
};
[[nodiscard]] core::Result<Members> member_cis(const Catalog& catalog, store::CmdbStore& cmdb,
                                               std::string_view service);

// One CI reference: an id, else a unique name (nullopt: none, or ambiguous).
[[nodiscard]] core::Result<std::optional<store::Ci>> resolve_ci(store::CmdbStore& cmdb, std::string_view ref);

// The capacity rules of every service, each applied to the service's member
// CIs and named "SERVICE/RULE" so its events are its own.
[[nodiscard]] core::Result<std::vector<capacity::CapacityRule>> service_rules(const Catalog& catalog,
                                                                             store::CmdbStore& cmdb);

}  // namespace surveyor::collector::services
