// SPDX-License-Identifier: Apache-2.0
// Frozen SLA reports and their amendments on Redis: versions that are only ever appended.
#include "backend.hpp"

namespace surveyor::collector::redis {

// Each period's SLA report versions: a list "slareport:SERVICE\x1fPERIOD" of
// JSON documents, appended to by a script that checks the expected length.
class RedisSlaReportStore final : public Bound<SlaReportStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_sla_report(const SlaReportVersion& v) override {
    static const char* kAppend = R"lua(
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
return 1)lua";
    const std::string doc = json::serialize(json::object{{"version", v.version},
                                                         {"created_ms", v.created_ms},
                                                         {"by", v.by},
                                                         {"reason", v.reason},
                                                         {"report", v.report}});
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.command({"EVAL", kAppend, "1", list_key(v.service, v.period), std::to_string(v.version - 1), doc});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "write SLA report");
      return reply_int(r->get()).value_or(0) == 1;
    });
  }

  core::Result<std::vector<SlaReportVersion>> sla_reports(std::string_view service, std::string_view period) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<SlaReportVersion>> {
      auto r = c.command({"LRANGE", list_key(service, period), "0", "-1"});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read SLA reports");
      std::vector<SlaReportVersion> out;
      for (std::size_t i = 0; (*r)->type == REDIS_REPLY_ARRAY && i < (*r)->elements; ++i) {
        boost::system::error_code ec;
        json::value v = json::parse(reply_text((*r)->element[i]), ec);
        if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "stored SLA report is not JSON");
        try {
          const json::object& o = v.get_object();
          out.push_back({std::string(service), std::string(period), o.at("version").to_number<int>(),
                         o.at("created_ms").to_number<std::int64_t>(), std::string(o.at("by").as_string()),
                         std::string(o.at("reason").as_string()), std::string(o.at("report").as_string())});
        } catch (const std::exception& e) {
          return core::make_error(StoreErrc::corrupt, std::string("stored SLA report: ") + e.what());
        }
      }
      return out;
    });
  }

 private:
  [[nodiscard]] std::string list_key(std::string_view service, std::string_view period) const {
    return b_->key("slareport", std::string(service) + kSep + std::string(period));
  }
};

std::shared_ptr<store::SlaReportStore> make_sla_report_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisSlaReportStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
