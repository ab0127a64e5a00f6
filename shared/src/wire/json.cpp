// SPDX-License-Identifier: Apache-2.0
// JSON mapping of the wire types with Boost.JSON. Parsing allocates from a
// resource with a budget fixed by the body size, and nests at most 32 deep;
// every error names the path of the offending value ("series[2].points[0]").
#include "json.hpp"

#include <boost/container/pmr/memory_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <new>

#include "bounded_archive.hpp"
#include "fields.hpp"
#include "surveyor/json/parse.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::wire::detail {
namespace {

namespace json = boost::json;

constexpr std::size_t kJsonBudgetPerByte = 16;
constexpr std::size_t kJsonBudgetSlack = 64 * 1024;

// Hands out memory until the budget is spent, then refuses. Frees do not
// give budget back: Boost.JSON may free with another size than it asked for,
// and a parse builds its document once, so the total asked for is the bound.
class BudgetResource final : public boost::container::pmr::memory_resource {
 public:
  explicit BudgetResource(std::size_t budget) : left_(budget) {}

 private:
  void* do_allocate(std::size_t n, std::size_t align) override {
    if (n > left_) throw DecodeFailure{Errc::too_large, "JSON document needs more memory than its size allows"};
    if (align > alignof(std::max_align_t)) throw std::bad_alloc();
    left_ -= n;
    // Plain new: Boost.JSON does not always free with the alignment it asked for.
    return ::operator new(n);
  }
  void do_deallocate(void* p, std::size_t, std::size_t) override { ::operator delete(p); }
  bool do_is_equal(const memory_resource& other) const noexcept override { return this == &other; }

  std::size_t left_;
};

// The decoded structures are charged too: an array of a thousand zeros is a
// small document, but a thousand 200-byte structs once read. Set per decode.
thread_local std::size_t t_output_budget = 0;

void charge(std::size_t bytes) {
  if (bytes > t_output_budget) throw DecodeFailure{Errc::too_large, "the decoded message would not fit the memory this body allows"};
  t_output_budget -= bytes;
}

[[noreturn]] void fail(Errc c, const std::string& path, const std::string& what) {
  throw DecodeFailure{c, (path.empty() ? std::string("document") : path) + ": " + what};
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

const json::object& as_object(const json::value& v, const std::string& path) {
  if (!v.is_object()) fail(Errc::wrong_type, path, "expected an object");
  return v.get_object();
}

const json::array& as_array(const json::value& v, const std::string& path) {
  if (!v.is_array()) fail(Errc::wrong_type, path, "expected an array");
  return v.get_array();
}

// The field, or nullptr when absent or null.
const json::value* optional_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

const json::value& required_field(const json::object& o, std::string_view key, const std::string& path) {
  const json::value* v = optional_field(o, key);
  if (v == nullptr) fail(Errc::missing_field, join(path, key), "required");
  return *v;
}

std::string get_string(const json::value& v, const std::string& path) {
  if (!v.is_string()) fail(Errc::wrong_type, path, "expected a string");
  charge(v.get_string().size());
  return std::string(v.get_string());
}

std::int64_t get_i64(const json::value& v, const std::string& path) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(Errc::invalid_value, path, "integer out of range");
    return static_cast<std::int64_t>(v.get_uint64());
  }
  fail(Errc::wrong_type, path, "expected an integer");
}

std::uint64_t get_u64(const json::value& v, const std::string& path) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64()) {
    if (v.get_int64() < 0) fail(Errc::invalid_value, path, "must not be negative");
    return static_cast<std::uint64_t>(v.get_int64());
  }
  fail(Errc::wrong_type, path, "expected an integer");
}

template <class U>
U get_unsigned(const json::value& v, const std::string& path) {
  const std::uint64_t n = get_u64(v, path);
  if (n > std::numeric_limits<U>::max()) fail(Errc::invalid_value, path, "integer out of range");
  return static_cast<U>(n);
}

std::int32_t get_i32(const json::value& v, const std::string& path) {
  const std::int64_t n = get_i64(v, path);
  if (n < std::numeric_limits<std::int32_t>::min() || n > std::numeric_limits<std::int32_t>::max())
    fail(Errc::invalid_value, path, "integer out of range");
  return static_cast<std::int32_t>(n);
}

bool get_bool(const json::value& v, const std::string& path) {
  if (!v.is_bool()) fail(Errc::wrong_type, path, "expected true or false");
  return v.get_bool();
}

// Numbers, and the strings "NaN", "+Inf", "-Inf" that JSON cannot spell as numbers.
double get_number(const json::value& v, const std::string& path) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_string()) {
    const auto& s = v.get_string();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
    if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  }
  fail(Errc::wrong_type, path, "expected a number");
}

json::value number_value(double d) {
  if (std::isnan(d)) return json::string("NaN");
  if (std::isinf(d)) return json::string(d > 0 ? "+Inf" : "-Inf");
  return d;
}

std::string opt_string(const json::object& o, std::string_view key, const std::string& path) {
  const json::value* v = optional_field(o, key);
  return v ? get_string(*v, join(path, key)) : std::string();
}

template <class E, std::size_t N>
E get_enum(const json::value& v, const std::string& path, const std::array<std::string_view, N>& names) {
  const std::string s = get_string(v, path);
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  std::string all;
  for (auto n : names) all += (all.empty() ? "" : ", ") + std::string(n);
  fail(Errc::invalid_value, path, "'" + s + "' is not one of " + all);
}

constexpr std::array<std::string_view, 4> kCheckStates{"ok", "warning", "critical", "unknown"};
constexpr std::array<std::string_view, 4> kSectionStates{"collected", "empty", "unchanged", "failed"};

template <class E, std::size_t N>
json::string enum_name(E e, const std::array<std::string_view, N>& names) {
  const auto i = static_cast<std::size_t>(e);
  return json::string(i < N ? names[i] : std::string_view("invalid"));
}

// ---- per-type mapping ------------------------------------------------------

// ---- inventory records, through their field lists (fields.hpp) -------------

json::value to_value(const std::string& s) { return json::string(s); }
json::value to_value(bool b) { return b; }
template <class N>
  requires(std::is_integral_v<N> && !std::is_same_v<N, bool>)
json::value to_value(N n) {
  return n;
}

void read(const json::value& v, std::string& out, const std::string& p) { out = get_string(v, p); }
void read(const json::value& v, bool& out, const std::string& p) { out = get_bool(v, p); }
void read(const json::value& v, std::int64_t& out, const std::string& p) { out = get_i64(v, p); }
void read(const json::value& v, std::int32_t& out, const std::string& p) { out = get_i32(v, p); }
void read(const json::value& v, std::uint64_t& out, const std::string& p) { out = get_u64(v, p); }
void read(const json::value& v, std::uint32_t& out, const std::string& p) { out = get_unsigned<std::uint32_t>(v, p); }

template <class T>
json::value to_value(const std::vector<T>& v);

template <class T>
  requires HasFields<T>
json::value to_value(const T& t) {
  json::object o;
  Fields<T>::apply(t, [&o](const char* key, const auto& field) { o[key] = to_value(field); }, Fields<T>::version);
  return o;
}

template <class T>
json::value to_value(const std::vector<T>& v) {
  json::array a;
  a.reserve(v.size());
  for (const T& x : v) a.push_back(to_value(x));
  return a;
}

template <class T>
void read(const json::value& v, std::vector<T>& out, const std::string& p);

// Absent fields keep their defaults; validation decides what is required.
template <class T>
  requires HasFields<T>
void read(const json::value& v, T& t, const std::string& p) {
  const auto& o = as_object(v, p);
  Fields<T>::apply(
      t,
      [&](const char* key, auto& field) {
        if (const json::value* f = optional_field(o, key)) read(*f, field, join(p, key));
      },
      Fields<T>::version);
}

template <class T>
void read(const json::value& v, std::vector<T>& out, const std::string& p) {
  const auto& arr = as_array(v, p);
  charge(arr.size() * sizeof(T));
  out.resize(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) read(arr[i], out[i], index(p, i));
}

template <class T>
json::value to_value(const Section<T>& s) {
  json::object o{{"state", enum_name(s.state, kSectionStates)}};
  if (!s.reason.empty()) o["reason"] = s.reason;
  if (!s.digest.empty()) o["digest"] = s.digest;
  if (s.data) o["data"] = to_value(*s.data);
  return o;
}

template <class T>
void read(const json::value& v, Section<T>& s, const std::string& p) {
  const auto& o = as_object(v, p);
  s.state = get_enum<SectionState>(required_field(o, "state", p), join(p, "state"), kSectionStates);
  s.reason = opt_string(o, "reason", p);
  s.digest = opt_string(o, "digest", p);
  if (auto f = optional_field(o, "data")) {
    T data{};
    read(*f, data, join(p, "data"));
    s.data = std::move(data);
  }
}

json::value to_value(const Inventory& inv) {
  json::object o{{"collected_at_ms", inv.collected_at_ms}};
  for_each_section(inv, [&o](std::string_view name, const auto& section) { o[name] = to_value(section); });
  return o;
}

void read(const json::value& v, Inventory& inv, const std::string& p) {
  const auto& o = as_object(v, p);
  inv.collected_at_ms = get_i64(required_field(o, "collected_at_ms", p), join(p, "collected_at_ms"));
  for_each_section(inv, [&](std::string_view name, auto& section) {
    if (auto f = optional_field(o, name)) read(*f, section, join(p, name));
  });
}

json::value to_value(const Series& s) {
  json::object attrs;
  for (const Attribute& a : s.attributes) attrs[a.key] = a.value;
  json::array points;
  points.reserve(s.points.size());
  for (const Point& pt : s.points) points.push_back(json::array{pt.time_ms, number_value(pt.value)});
  return json::object{{"metric", s.metric},
                      {"unit", s.unit},
                      {"attributes", std::move(attrs)},
                      {"points", std::move(points)}};
}

void read(const json::value& v, Series& s, const std::string& p) {
  const auto& o = as_object(v, p);
  s.metric = get_string(required_field(o, "metric", p), join(p, "metric"));
  s.unit = opt_string(o, "unit", p);
  if (auto f = optional_field(o, "attributes")) {
    const std::string ap = join(p, "attributes");
    const auto& attrs = as_object(*f, ap);
    charge(attrs.size() * sizeof(Attribute));
    for (const auto& kv : attrs)
      s.attributes.push_back({std::string(kv.key()), get_string(kv.value(), join(ap, kv.key()))});
    // A JSON object has no order; the wire form is sorted by key.
    std::sort(s.attributes.begin(), s.attributes.end(),
              [](const Attribute& a, const Attribute& b) { return a.key < b.key; });
  }
  const std::string pp = join(p, "points");
  const auto& arr = as_array(required_field(o, "points", p), pp);
  charge(arr.size() * sizeof(Point));
  s.points.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string ep = index(pp, i);
    const auto& pair = as_array(arr[i], ep);
    if (pair.size() != 2) fail(Errc::malformed, ep, "expected [time_ms, value]");
    s.points.push_back({get_i64(pair[0], ep + "[0]"), get_number(pair[1], ep + "[1]")});
  }
}

json::value to_value(const CheckResult& c) {
  return json::object{{"name", c.name},         {"kind", c.kind},
                      {"state", enum_name(c.state, kCheckStates)},
                      {"time_ms", c.time_ms},   {"duration_ms", c.duration_ms},
                      {"output", c.output}};
}

void read(const json::value& v, CheckResult& c, const std::string& p) {
  const auto& o = as_object(v, p);
  c.name = get_string(required_field(o, "name", p), join(p, "name"));
  c.kind = opt_string(o, "kind", p);
  c.state = get_enum<CheckState>(required_field(o, "state", p), join(p, "state"), kCheckStates);
  c.time_ms = get_i64(required_field(o, "time_ms", p), join(p, "time_ms"));
  if (auto f = optional_field(o, "duration_ms")) c.duration_ms = get_i64(*f, join(p, "duration_ms"));
  c.output = opt_string(o, "output", p);
}

json::value to_value(const Report& r) {
  json::array series;
  for (const Series& s : r.series) series.push_back(to_value(s));
  json::array checks;
  for (const CheckResult& c : r.checks) checks.push_back(to_value(c));
  json::object o{{"protocol", kProtocolVersion},
                 {"agent_id", r.agent_id},
                 {"sequence", r.sequence},
                 {"sent_at_ms", r.sent_at_ms},
                 {"heartbeat_interval_s", r.heartbeat_interval_s},
                 {"agent_version", r.agent_version},
                 {"inventory_digest", r.inventory_digest},
                 {"series", std::move(series)},
                 {"checks", std::move(checks)}};
  if (r.inventory) o["inventory"] = to_value(*r.inventory);
  return o;
}

void read(const json::value& v, Report& r, const std::string& p) {
  const auto& o = as_object(v, p);
  if (auto f = optional_field(o, "protocol")) {
    const auto version = get_u64(*f, "protocol");
    if (version > kProtocolVersion)
      fail(Errc::unsupported_version, "protocol",
           std::to_string(version) + " is newer than this collector reads (" +
               std::to_string(kProtocolVersion) + ")");
  }
  r.agent_id = get_string(required_field(o, "agent_id", p), "agent_id");
  r.sequence = get_u64(required_field(o, "sequence", p), "sequence");
  r.sent_at_ms = get_i64(required_field(o, "sent_at_ms", p), "sent_at_ms");
  r.heartbeat_interval_s =
      get_unsigned<std::uint32_t>(required_field(o, "heartbeat_interval_s", p), "heartbeat_interval_s");
  r.agent_version = opt_string(o, "agent_version", p);
  r.inventory_digest = opt_string(o, "inventory_digest", p);
  if (auto f = optional_field(o, "inventory")) {
    Inventory inv;
    read(*f, inv, "inventory");
    r.inventory = std::move(inv);
  }
  if (auto f = optional_field(o, "series")) {
    const auto& arr = as_array(*f, "series");
    charge(arr.size() * sizeof(Series));
    r.series.resize(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) read(arr[i], r.series[i], index("series", i));
  }
  if (auto f = optional_field(o, "checks")) {
    const auto& arr = as_array(*f, "checks");
    charge(arr.size() * sizeof(CheckResult));
    r.checks.resize(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) read(arr[i], r.checks[i], index("checks", i));
  }
}

json::value to_value(const ReportAck& a) {
  return json::object{{"sequence", a.sequence},
                      {"duplicate", a.duplicate},
                      {"inventory_wanted", a.inventory_wanted}};
}

void read(const json::value& v, ReportAck& a, const std::string& p) {
  const auto& o = as_object(v, p);
  a.sequence = get_u64(required_field(o, "sequence", p), "sequence");
  if (auto f = optional_field(o, "duplicate")) a.duplicate = get_bool(*f, "duplicate");
  if (auto f = optional_field(o, "inventory_wanted")) a.inventory_wanted = get_bool(*f, "inventory_wanted");
}

json::value to_value(const EnrollRequest& e) {
  return json::object{{"token", e.token},
                      {"host_id", e.host_id},
                      {"hostname", e.hostname},
                      {"agent_version", e.agent_version},
                      {"system_uuid", e.system_uuid},
                      {"system_serial", e.system_serial}};
}

void read(const json::value& v, EnrollRequest& e, const std::string& p) {
  const auto& o = as_object(v, p);
  e.token = get_string(required_field(o, "token", p), "token");
  e.host_id = get_string(required_field(o, "host_id", p), "host_id");
  e.hostname = get_string(required_field(o, "hostname", p), "hostname");
  e.agent_version = opt_string(o, "agent_version", p);
  e.system_uuid = opt_string(o, "system_uuid", p);
  e.system_serial = opt_string(o, "system_serial", p);
}

json::value to_value(const EnrollResponse& e) {
  return json::object{{"agent_id", e.agent_id}, {"agent_key", e.agent_key}, {"ci_id", e.ci_id}};
}

void read(const json::value& v, EnrollResponse& e, const std::string& p) {
  const auto& o = as_object(v, p);
  e.agent_id = get_string(required_field(o, "agent_id", p), "agent_id");
  e.agent_key = get_string(required_field(o, "agent_key", p), "agent_key");
  e.ci_id = opt_string(o, "ci_id", p);
}

}  // namespace

std::string to_json_text(const Report& m) { return json::serialize(to_value(m)); }
std::string to_json_text(const ReportAck& m) { return json::serialize(to_value(m)); }
std::string to_json_text(const EnrollRequest& m) { return json::serialize(to_value(m)); }
std::string to_json_text(const EnrollResponse& m) { return json::serialize(to_value(m)); }

template <class M>
core::Result<M> from_json_text(std::string_view body) {
  BudgetResource budget(body.size() * kJsonBudgetPerByte + kJsonBudgetSlack);
  t_output_budget = body.size() * kJsonBudgetPerByte + kJsonBudgetSlack;
  try {
    json::parse_options opts;
    opts.max_depth = 32;
    boost::system::error_code ec;
    M out{};
    {
      // The parser's working stack comes out of the same budget as the document.
      json::value doc = surveyor::json::parse_precise(body, ec, json::storage_ptr(&budget), opts);
      if (ec) return core::make_error(Errc::malformed, "JSON: " + ec.message());
      read(doc, out, "");
    }
    return out;
  } catch (const DecodeFailure& f) {
    return core::make_error(f.code, f.what);
  } catch (const std::bad_alloc&) {
    return core::make_error(Errc::too_large, "out of memory while decoding JSON");
  } catch (const std::length_error& e) {
    return core::make_error(Errc::too_large, e.what());
  }
}

std::string inventory_json_text(const Inventory& inv) { return json::serialize(to_value(inv)); }

std::vector<SectionText> section_texts(const Inventory& inv) {
  std::vector<SectionText> out;
  for_each_section(inv, [&out](std::string_view name, const auto& s) {
    out.push_back({std::string(name), std::string(enum_name(s.state, kSectionStates)), s.reason, s.digest,
                   s.data ? json::serialize(to_value(*s.data)) : std::string()});
  });
  return out;
}

template core::Result<Report> from_json_text(std::string_view);
template core::Result<ReportAck> from_json_text(std::string_view);
template core::Result<EnrollRequest> from_json_text(std::string_view);
template core::Result<EnrollResponse> from_json_text(std::string_view);

}  // namespace surveyor::wire::detail
