// SPDX-License-Identifier: Apache-2.0
// Chooses the backend from the --store URL. The only place that knows both.
#include "surveyor/collector/backends/open.hpp"

#include <charconv>

#include <boost/url/parse.hpp>

#include "surveyor/collector/redis/redis_stores.hpp"
#include "surveyor/collector/sqlite/sqlite_stores.hpp"

namespace surveyor::collector::backends {

using store::StoreErrc;

namespace {

core::Error bad_url(const std::string& text, const std::string& why) {
  return core::make_error(StoreErrc::invalid, "'" + text + "': " + why);
}

// A list of HOST:PORT: "[USER@]HOST:PORT[,HOST:PORT...]" (a list of
// hosts is not a URI authority, so it is read here); `what` names one in
// messages.
core::Status parse_hosts(const std::string& text, std::string_view hosts, const std::string& what,
                         redis::RedisOptions& o, std::vector<redis::RedisAddress>& out) {
  const auto bad = [&text](const std::string& why) { return bad_url(text, why); };
  if (const auto at = hosts.rfind('@'); at != std::string_view::npos) {
    o.user = std::string(hosts.substr(0, at));
    hosts.remove_prefix(at + 1);
    if (o.user.find(':') != std::string::npos)
      return bad("no password in the URL: give it in a file (store_password_file)");
    if (o.user.empty()) return bad("an empty user name");
  }
  while (!hosts.empty()) {
    const auto comma = hosts.find(',');
    const std::string_view one = hosts.substr(0, comma);
    hosts = comma == std::string_view::npos ? std::string_view() : hosts.substr(comma + 1);
    const auto colon = one.rfind(':');
    std::string host(one.substr(0, colon));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int port = 0;
    const std::string_view digits = colon == std::string_view::npos ? std::string_view() : one.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (host.empty() || digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 ||
        port > 65535)
      return bad("'" + std::string(one) + "' is not a " + what + " HOST:PORT");
    out.push_back({host, static_cast<std::uint16_t>(port)});
  }
  if (out.empty()) return bad("no " + what + " addresses");
  return {};
}

// redis-sentinel://[USER@]HOST:PORT[,HOST:PORT...]/MASTER[/PREFIX]
core::Status parse_sentinel_url(const std::string& text, redis::RedisOptions& o) {
  const auto bad = [&text](const std::string& why) { return bad_url(text, why); };
  std::string_view rest = std::string_view(text).substr(std::string_view("redis-sentinel://").size());
  if (rest.find('?') != std::string_view::npos) return bad("options are not supported");
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no master name (redis-sentinel://HOST:PORT[,...]/MASTER)");
  std::string_view path = rest.substr(slash + 1);
  if (auto st = parse_hosts(text, rest.substr(0, slash), "sentinel", o, o.sentinels); !st) return st;
  const auto name_end = path.find('/');
  o.sentinel_master = std::string(path.substr(0, name_end));
  if (o.sentinel_master.empty()) return bad("no master name (redis-sentinel://HOST:PORT[,...]/MASTER)");
  if (name_end != std::string_view::npos && !path.substr(name_end + 1).empty())
    o.prefix = std::string(path.substr(name_end + 1));
  return {};
}

// redis-cluster://[USER@]HOST:PORT[,HOST:PORT...][/PREFIX]: some nodes of
// the cluster. The prefix becomes the keys' hash tag, so it holds no brace.
core::Status parse_cluster_url(const std::string& text, redis::RedisOptions& o) {
  const auto bad = [&text](const std::string& why) { return bad_url(text, why); };
  std::string_view rest = std::string_view(text).substr(std::string_view("redis-cluster://").size());
  if (rest.find('?') != std::string_view::npos) return bad("options are not supported");
  const auto slash = rest.find('/');
  if (auto st = parse_hosts(text, rest.substr(0, slash), "cluster node", o, o.cluster_nodes); !st) return st;
  if (slash != std::string_view::npos && !rest.substr(slash + 1).empty()) o.prefix = std::string(rest.substr(slash + 1));
  if (o.prefix.find_first_of("{}") != std::string::npos)
    return bad("the prefix is the keys' hash tag on a cluster: it cannot hold '{' or '}'");
  return {};
}

// What redis://, redis-sentinel:// and redis-cluster:// share once their URL is read: the
// password a user needs, the replicas to wait for.
core::Result<store::Stores> open_redis_with(const std::string& text, redis::RedisOptions o,
                                            const StoreSettings& settings) {
  if (!o.user.empty() && settings.password.empty())
    return core::make_error(StoreErrc::invalid,
                            "'" + text + "': the user " + o.user + " needs a password (store_password_file)");
  o.password = settings.password;
  o.wait_replicas = settings.wait_replicas;
  o.wait_timeout = settings.wait_timeout;
  return redis::open_redis(o);
}

}  // namespace

core::Result<store::Stores> open_stores(std::string_view url, const StoreSettings& settings) {
  const std::string text(url);
  if (url.rfind("sqlite:", 0) == 0) {
    sqlite::SqliteOptions o;
    std::string_view rest = url.substr(7);
    const auto q = rest.find('?');
    o.path = std::string(rest.substr(0, q));
    if (q != std::string_view::npos) {
      const std::string_view query = rest.substr(q + 1);
      if (query == "synchronous=normal") o.synchronous_full = false;
      else if (query != "synchronous=full")
        return core::make_error(StoreErrc::invalid, "'" + text + "': the only option is synchronous=full|normal");
    }
    if (o.path.empty()) return core::make_error(StoreErrc::invalid, "'" + text + "': no database path");
    o.group_commit_max = settings.group_commit_max;
    o.group_commit_delay = settings.group_commit_delay;
    return sqlite::open_sqlite(o);
  }
  if (url.rfind("redis-sentinel://", 0) == 0 || url.rfind("redis-cluster://", 0) == 0) {
    const bool sentinel = url.rfind("redis-sentinel://", 0) == 0;
    redis::RedisOptions o;
    if (auto st = sentinel ? parse_sentinel_url(text, o) : parse_cluster_url(text, o); !st)
      return std::move(st).error();
    if (!settings.ca_file.empty() || !settings.cert_file.empty() || !settings.key_file.empty())
      return core::make_error(StoreErrc::invalid, "'" + text + "': TLS is not supported through " +
                                                      (sentinel ? "Sentinel" : "a cluster") + " yet");
    return open_redis_with(text, std::move(o), settings);
  }
  if (url.rfind("redis://", 0) == 0 || url.rfind("rediss://", 0) == 0) {
    auto u = boost::urls::parse_uri(url);
    if (!u) return core::make_error(StoreErrc::invalid, "'" + text + "': " + u.error().message());
    redis::RedisOptions o;
    o.tls = u->scheme() == "rediss";
    if (o.tls) {
      o.tls_ca_file = settings.ca_file;
      o.tls_cert_file = settings.cert_file;
      o.tls_key_file = settings.key_file;
    } else if (!settings.ca_file.empty() || !settings.cert_file.empty() || !settings.key_file.empty()) {
      return core::make_error(StoreErrc::invalid, "'" + text + "': TLS files are for rediss:// URLs");
    }
    o.host = std::string(u->encoded_host_address());
    if (o.host.empty()) return core::make_error(StoreErrc::invalid, "'" + text + "': no host");
    if (u->has_port()) o.port = u->port_number();
    std::string path(u->encoded_path());
    while (!path.empty() && path.front() == '/') path.erase(0, 1);
    if (!path.empty()) o.prefix = path;
    if (u->has_password())
      return core::make_error(StoreErrc::invalid,
                              "'" + text + "': no password in the URL: give it in a file (store_password_file)");
    if (u->has_query()) return core::make_error(StoreErrc::invalid, "'" + text + "': options are not supported");
    if (u->has_userinfo()) o.user = std::string(u->user());
    return open_redis_with(text, std::move(o), settings);
  }
  return core::make_error(StoreErrc::invalid, "'" + text +
                                                  "': expected sqlite:PATH, redis[s]://HOST:PORT[/PREFIX], "
                                                  "redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/PREFIX] or "
                                                  "redis-cluster://HOST:PORT[,HOST:PORT...][/PREFIX]");
}

}  // namespace surveyor::collector::backends
