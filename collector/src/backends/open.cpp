// SPDX-License-Identifier: Apache-2.0
// Chooses the backend from the --store URL. The only place that knows both.
#include "surveyor/collector/backends/open.hpp"

#include <boost/url/parse.hpp>

#include "surveyor/collector/redis/redis_stores.hpp"
#include "surveyor/collector/sqlite/sqlite_stores.hpp"

namespace surveyor::collector::backends {

using store::StoreErrc;

core::Result<store::Stores> open_stores(std::string_view url, const StoreSettings& settings) {
  const std::string& password = settings.password;
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
    if (!o.user.empty() && password.empty())
      return core::make_error(StoreErrc::invalid, "'" + text + "': the user " + o.user + " needs a password (store_password_file)");
    o.password = password;
    return redis::open_redis(o);
  }
  return core::make_error(StoreErrc::invalid, "'" + text + "': expected sqlite:PATH or redis[s]://HOST:PORT[/PREFIX]");
}

}  // namespace surveyor::collector::backends
