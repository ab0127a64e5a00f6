// SPDX-License-Identifier: Apache-2.0
// The agent's main loop. Design: everything runs on one io_context thread,
// so nothing here locks, except the inventory: it is collected once
// synchronously at start (enrollment needs the host facts) and later on a
// background thread that posts the result back (an rpm query can take a
// second; sampling must not wait for it). One timer fires on wall-clock
// multiples of the sample interval (so every agent samples at :00, :10, ...
// and series align across hosts); after sampling, a tick at or past the
// report boundary builds a report. Reports carry the full inventory on first
// contact, when the collector asks and every `inventory_full_every` reports;
// in between only the sections whose digest changed since the last report
// that carried them. Enrollment retries with back-off until the collector
// answers; a refused token is fatal (an operator must fix the config).
// Plugins are called through PluginWorkers, each on a thread of its own
// with a deadline, never on this one: a plugin that blocks costs its own
// samples, never the schedule. What a plugin samples reaches the buffer when
// its call returns (the report after, if a report was due on that tick);
// what it finds is kept per plugin and put into the inventory as it comes.
#include "surveyor/agent/runner/runner.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <malloc.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <thread>

#include "surveyor/agent/checks/scheduler.hpp"
#include "surveyor/agent/inventory/collect.hpp"
#include "surveyor/agent/plugins/plugin_worker.hpp"
#include "surveyor/agent/runner/inventory_tracker.hpp"
#include "surveyor/log/log.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::agent::runner {
namespace {
namespace asio = boost::asio;

std::int64_t next_multiple(std::int64_t now, std::int64_t step) { return (now / step + 1) * step; }

}  // namespace

struct Runner::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, RunnerOptions o, state::StateDir& s, spool::Spool sp, std::vector<http::Client*> c,
       const core::Clock& clk, std::vector<std::unique_ptr<samplers::Sampler>> smp,
       std::vector<std::unique_ptr<plugins::Plugin>> plg)
      : io(io_),
        options(std::move(o)),
        state(s),
        clock(clk),
        samplers(std::move(smp)),
        sender(io_, c, std::move(sp), options.sender),
        checks(io_, options.checks, options.check_concurrency, options.roots.proc, clk),
        tick_timer(io_),
        enroll_timer(io_) {
    for (http::Client* one : c) enroll_clients.push_back(std::make_unique<http::Client>(io_, one->endpoint(), one->options()));
    for (auto& p : plg) plugins.push_back(std::make_unique<plugins::PluginWorker>(io_, std::move(p)));
    found.resize(plugins.size());
    plugin_cpu_seen.resize(plugins.size(), 0);
  }

  asio::io_context& io;
  RunnerOptions options;
  state::StateDir& state;
  const core::Clock& clock;
  std::vector<std::unique_ptr<samplers::Sampler>> samplers;
  std::vector<std::unique_ptr<plugins::PluginWorker>> plugins;
  // What each plugin (same order) last said it found; nullopt until it answered.
  std::vector<std::optional<core::Result<std::vector<wire::Instance>>>> found;
  std::vector<std::int64_t> plugin_cpu_seen;  // each plugin thread's CPU time at the last watchdog
  transport::ReportSender sender;
  checks::CheckScheduler checks;
  asio::steady_timer tick_timer;
  asio::steady_timer enroll_timer;
  // Their own connections (a report may be in flight meanwhile), one per
  // collector: a failed attempt moves to the next.
  std::vector<std::unique_ptr<http::Client>> enroll_clients;
  std::size_t enroll_at = 0;
  samplers::SeriesBuffer buffer;
  std::optional<state::Identity> identity;
  wire::Inventory inventory;
  std::string inventory_digest;
  InventoryTracker tracker{options.inventory_full_every};
  std::thread inventory_thread;
  bool inventory_running = false;
  std::int64_t next_report_ms = 0;
  std::int64_t last_tick_ms = 0;
  std::int64_t next_inventory_ms = 0;
  int enroll_failures = 0;
  bool stopping = false;
  std::function<void(int)> fatal;
  log::Logger log{"agent"};
  log::RateLimit sampler_errors{5, std::chrono::minutes(10)};
  // The watchdog's view of the current report interval.
  std::map<std::string, std::int64_t> component_cpu_ns;
  std::int64_t last_cpu_ns = -1;
  std::int64_t last_cpu_at_ms = 0;
  std::vector<std::pair<std::string, std::string>> disabled;  // component, reason

  static std::int64_t thread_cpu_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1'000'000'000LL + t.tv_nsec;
  }

  std::int64_t now_ms() const { return core::to_unix_ms(clock.now()); }

  void start() {
    auto loaded = state.load_identity();
    if (!loaded) {
      log.error("cannot use the state directory: {}", loaded.error().describe());
      return fatal(1);
    }
    set_inventory(inventory::collect(options.roots, now_ms()));
    // The first readings are only baselines for rates.
    for (auto& s : samplers) (void)s->sample(now_ms(), buffer);
    (void)buffer.take();
    sender.on_unauthorized([w = weak_from_this()] {
      if (auto self = w.lock()) self->reenroll();
    });
    sender.set_sequence_source([&st = state] { return st.next_sequence(); });
    // An identity from any of the collectors holds for all of them (they share a store).
    if (*loaded && http::share_an_endpoint((*loaded)->collector_url, options.collector_url)) {
      use_identity(**loaded);
    } else {
      if (*loaded) log.info("identity was issued by {}, enrolling with {}", (*loaded)->collector_url, options.collector_url);
      enroll();
    }
    next_report_ms = next_multiple(now_ms(), options.report_interval.count());
    schedule_tick();
    checks.start();
  }

  void use_identity(const state::Identity& id) {
    identity = id;
    sender.set_credentials(id.agent_id, id.agent_key);
  }

  void enroll() {
    if (stopping) return;
    const wire::HostInfo* host = inventory.host.data ? &*inventory.host.data : nullptr;
    if (host == nullptr) {
      log.error("cannot enroll without a host identity: {}", inventory.host.reason);
      return fatal(1);
    }
    wire::EnrollRequest req{options.enrollment_token, host->host_id, host->hostname, options.version, {}, {}};
    if (inventory.hardware.data) {  // for the collector's reconciliation (reinstalls, clones)
      req.system_uuid = inventory.hardware.data->system_uuid;
      req.system_serial = inventory.hardware.data->system_serial;
    }
    transport::enroll(*enroll_clients[enroll_at], req, [self = shared_from_this()](core::Result<wire::EnrollResponse> r) {
      self->on_enrolled(std::move(r));
    });
  }

  void on_enrolled(core::Result<wire::EnrollResponse> r) {
    if (stopping) return;
    if (!r) {
      if (r.error().code == transport::TransportErrc::rejected) {
        log.error("the collector refused the enrollment token ({}); fix enrollment_token and restart",
                  r.error().message);
        return fatal(2);
      }
      enroll_at = (enroll_at + 1) % enroll_clients.size();
      const int shift = std::min(enroll_failures++, 6);
      const auto delay = std::chrono::seconds(1 << shift);
      log.warn("enrollment failed: {}; retrying in {} s", r.error().describe(), delay.count());
      enroll_timer.expires_after(delay);
      enroll_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->enroll();
      });
      return;
    }
    state::Identity id{r->agent_id, r->agent_key, r->ci_id, options.collector_url};
    if (auto st = state.save_identity(id); !st) {
      log.error("cannot save the identity: {}", st.error().describe());
      return fatal(1);
    }
    log.info("enrolled as {} (CI {})", id.agent_id, id.ci_id);
    enroll_failures = 0;
    tracker.want_full();
    use_identity(id);
  }

  void reenroll() {
    if (!identity || stopping) return;
    if (!options.reenroll_on_unauthorized) {
      log.error("the collector refused agent {}'s key (401); reports are kept in the spool until a person acts: "
                "delete the state directory's identity to enroll again, or set reenroll_on_unauthorized = true",
                identity->agent_id);
      sender.set_credentials("", "");  // hold reports: they are not the collector's to refuse again and again
      return;
    }
    log.warn("the collector does not know agent {}; enrolling again", identity->agent_id);
    identity.reset();
    sender.set_credentials("", "");  // hold reports until there is a new identity
    (void)state.forget_identity();
    enroll();
  }

  // The instances section from what the plugins last said: failed if one
  // failed or timed out (the collector keeps what it knew), unchanged while
  // one has not answered yet.
  void fill_instances() {
    std::vector<wire::Instance> all;
    std::string failures;
    bool pending = false;
    for (std::size_t i = 0; i < plugins.size(); ++i) {
      if (plugins[i]->disabled()) continue;
      if (!found[i]) pending = true;
      else if (!*found[i]) failures += (failures.empty() ? "" : "; ") + found[i]->error().describe();
      else all.insert(all.end(), (*found[i])->begin(), (*found[i])->end());
    }
    if (!failures.empty()) {
      inventory.instances = {wire::SectionState::failed, failures, "", std::nullopt};
    } else if (pending) {
      inventory.instances = {wire::SectionState::unchanged, "", "", std::nullopt};
    } else {
      inventory.instances = {all.empty() ? wire::SectionState::empty : wire::SectionState::collected, "",
                             wire::digest_of(all), all};
    }
    inventory_digest = wire::inventory_digest(inventory);
  }

  // Asks every plugin that is not still busy for its instances; each answer
  // updates the inventory when it comes.
  void ask_plugins_for_instances() {
    for (std::size_t i = 0; i < plugins.size(); ++i) {
      plugins[i]->instances([w = weak_from_this(), i](core::Result<std::vector<wire::Instance>> r) {
        auto self = w.lock();
        if (!self || i >= self->found.size()) return;
        if (!r && r.error().code != plugins::PluginErrc::timed_out)
          self->log.warn("plugin inventory failed: {}", r.error().describe());
        self->found[i] = std::move(r);
        self->fill_instances();
      });
    }
  }

  void set_inventory(wire::Inventory inv) {
    wire::for_each_section(inv, [this](std::string_view name, const auto& s) {
      if (s.state == wire::SectionState::failed) log.warn("inventory section {} failed: {}", name, s.reason);
    });
    inventory = std::move(inv);
    fill_instances();
    ask_plugins_for_instances();
    next_inventory_ms = now_ms() + options.inventory_interval.count();
    // Collecting (hwloc's topology above all) used memory that is free now:
    // give it back to the system rather than keep it resident.
    ::malloc_trim(0);
  }

  void refresh_inventory() {
    if (inventory_running || stopping) return;
    if (inventory_thread.joinable()) inventory_thread.join();
    inventory_running = true;
    inventory_thread = std::thread([w = weak_from_this(), roots = options.roots, at = now_ms(), &io = io] {
      wire::Inventory inv = inventory::collect(roots, at);
      asio::post(io, [w, inv = std::move(inv)]() mutable {
        if (auto self = w.lock()) {
          self->inventory_running = false;
          self->set_inventory(std::move(inv));
        }
      });
    });
  }

  void schedule_tick() {
    if (stopping) return;
    const std::int64_t now = now_ms();
    const std::int64_t at = next_multiple(now, options.sample_interval.count());
    tick_timer.expires_after(std::chrono::milliseconds(at - now));
    tick_timer.async_wait([self = shared_from_this(), at](const boost::system::error_code& ec) {
      if (ec) return;
      self->tick(at);
      self->schedule_tick();
    });
  }

  void sample_one(samplers::Sampler& s, std::int64_t at) {
    const std::int64_t before = thread_cpu_ns();
    if (auto st = s.sample(at, buffer); !st) {
      std::uint64_t suppressed = 0;
      if (sampler_errors.allow(suppressed))
        log.warn("sampler {} failed: {} ({} similar suppressed)", s.name(), st.error().describe(), suppressed);
    }
    component_cpu_ns[std::string(s.name())] += thread_cpu_ns() - before;
  }

  // Starts a plugin's sample() on its thread; its points join the buffer
  // when it returns. A plugin stuck in a call is skipped (and counted).
  void sample_plugin(plugins::PluginWorker& p, std::int64_t at) {
    p.sample(at, [w = weak_from_this(), name = p.name()](std::vector<plugins::SamplePoint> points, core::Status st) {
      auto self = w.lock();
      if (!self) return;
      for (auto& pt : points) self->buffer.add(pt.metric, pt.unit, std::move(pt.attrs), pt.time_ms, pt.value);
      std::uint64_t suppressed = 0;
      if (!st && st.error().code != plugins::PluginErrc::timed_out && self->sampler_errors.allow(suppressed))
        self->log.warn("sampler {} failed: {} ({} similar suppressed)", name, st.error().describe(), suppressed);
    });
  }

  void sample(std::int64_t at) {
    for (auto& s : samplers) sample_one(*s, at);
    for (auto& p : plugins) sample_plugin(*p, at);
  }

  // Own RSS and CPU against their bounds; past them, the plugin or check
  // that used the most CPU this interval is disabled (built-in samplers are
  // never disabled: they are the agent's job).
  void watchdog(std::int64_t at) {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const std::int64_t cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000'000LL +
                                (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    std::uint64_t rss = 0;
    if (auto statm = inventory::read_text("/proc/self/statm", 256)) {
      unsigned long long size = 0, resident = 0;
      if (std::sscanf(statm->c_str(), "%llu %llu", &size, &resident) == 2)
        rss = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    }
    buffer.add("surveyor.agent.memory.rss", "By", {}, at, static_cast<double>(rss));
    std::optional<std::string> reason;
    if (last_cpu_ns >= 0 && at > last_cpu_at_ms) {
      const double per_minute_ms = static_cast<double>(cpu_ns - last_cpu_ns) / 1e6 * 60'000.0 /
                                   static_cast<double>(at - last_cpu_at_ms);
      buffer.add("surveyor.agent.cpu.time", "ms/min", {}, at, per_minute_ms);
      if (per_minute_ms > static_cast<double>(options.max_cpu_per_minute.count())) reason = "cpu";
    }
    if (rss > options.max_rss_bytes) reason = "memory";
    last_cpu_ns = cpu_ns;
    last_cpu_at_ms = at;
    // Each plugin's thread, stuck calls included.
    for (std::size_t i = 0; i < plugins.size(); ++i) {
      const std::int64_t used = plugins[i]->cpu_ns();
      if (!plugins[i]->disabled()) component_cpu_ns[plugins[i]->name()] += used - plugin_cpu_seen[i];
      plugin_cpu_seen[i] = used;
    }
    if (reason) {
      // The heaviest plugin or check of this interval is the suspect.
      std::string worst;
      std::int64_t worst_ns = -1;
      for (const auto& [name, ns] : component_cpu_ns) {
        const bool culprit = name.rfind("plugin:", 0) == 0 || name.rfind("check:", 0) == 0;
        if (culprit && ns > worst_ns) {
          worst = name;
          worst_ns = ns;
        }
      }
      if (worst.empty() && *reason == "memory") {
        for (const auto& p : plugins) {
          if (p->disabled()) continue;
          worst = p->name();
          break;
        }
      }
      if (!worst.empty()) {
        log.error("watchdog: {} over its bound; disabling {}", *reason, worst);
        if (worst.rfind("check:", 0) == 0) {
          checks.disable(worst.substr(6));
        } else {
          for (auto& p : plugins)
            if (p->name() == worst) p->disable();  // closed on its own thread once its call returns
          fill_instances();
        }
        disabled.emplace_back(worst, *reason);
      } else {
        std::uint64_t suppressed = 0;
        if (sampler_errors.allow(suppressed))
          log.warn("watchdog: {} over its bound (RSS {} bytes); no plugin or check to blame", *reason, rss);
      }
    }
    for (const auto& [component, why] : disabled)
      buffer.add("surveyor.agent.disabled", "1", {{"component", component}, {"reason", why}}, at, 1.0);
    component_cpu_ns.clear();
  }

  void tick(std::int64_t at) {
    if (last_tick_ms != 0 && at < last_tick_ms) {
      // The wall clock stepped back (NTP, an operator): send what was sampled
      // under the old time at once, and count the schedule from now.
      log.warn("the clock went back {} ms; re-anchoring the schedule", last_tick_ms - at);
      if (identity && buffer.points() > 0) report(at);
      next_report_ms = next_multiple(at, options.report_interval.count());
      next_inventory_ms = at + options.inventory_interval.count();
    }
    last_tick_ms = at;
    sample(at);
    if (at >= next_inventory_ms) refresh_inventory();
    if (at >= next_report_ms) {
      report(at);
      next_report_ms = next_multiple(at, options.report_interval.count());
    }
  }

  void report(std::int64_t at) {
    auto seq = state.next_sequence();
    if (!seq) {
      log.error("cannot reserve a sequence number: {}", seq.error().describe());
      return;
    }
    wire::Report r;
    r.agent_id = identity ? identity->agent_id : "";
    r.sequence = *seq;
    r.sent_at_ms = at;
    r.heartbeat_interval_s = static_cast<std::uint32_t>(std::max<std::int64_t>(1, options.report_interval.count() / 1000));
    r.agent_version = options.version;
    add_self_metrics(at);
    for (checks::CheckOutcome& c : checks.take_results()) {
      component_cpu_ns["check:" + c.result.name] += c.agent_cpu_ns;
      for (const checks::PerfDatum& p : c.perf)
        buffer.add("surveyor.check.perfdata", p.unit, {{"check", c.result.name}, {"label", p.label}},
                   c.result.time_ms, p.value);
      r.checks.push_back(std::move(c.result));
    }
    watchdog(at);
    r.inventory_digest = inventory_digest;
    if (sender.take_inventory_request()) tracker.want_full();
    r.inventory = tracker.next(inventory);
    r.series = buffer.take();
    sender.submit(std::move(r));
  }

  // The agent's own delivery health, so losses are visible at the collector.
  void add_self_metrics(std::int64_t at) {
    const transport::SenderStats st = sender.stats();
    const std::pair<const char*, std::uint64_t> dropped[] = {
        {"overflow", st.dropped_overflow}, {"rejected", st.dropped_rejected}, {"corrupt", st.dropped_corrupt},
        {"unreadable", st.dropped_unreadable}};
    for (const auto& [reason, n] : dropped)
      buffer.add("surveyor.agent.reports.dropped", "{report}", {{"reason", reason}}, at, static_cast<double>(n));
    buffer.add("surveyor.agent.spool.reports", "{report}", {}, at, static_cast<double>(st.queued));
    buffer.add("surveyor.agent.reports.split", "{report}", {}, at, static_cast<double>(st.split));
    buffer.add("surveyor.agent.config.reload_failures", "{reload}", {}, at,
               static_cast<double>(options.config_reload_failures));
    buffer.add("surveyor.agent.samples.dropped", "{sample}", {}, at, static_cast<double>(buffer.dropped()));
    buffer.add("surveyor.agent.spool.usage", "By", {}, at, static_cast<double>(st.spooled_bytes));
    // Plugin calls past their deadline, and calls not made because the
    // plugin was stuck or had one waiting; summed over plugins of one name.
    std::map<std::string, plugins::WorkerStats> per_plugin;
    for (const auto& p : plugins) {
      const plugins::WorkerStats ws = p->stats();
      auto& sum = per_plugin[p->name().substr(p->name().find(':') + 1)];
      sum.timeouts += ws.timeouts;
      sum.skipped += ws.skipped;
    }
    for (const auto& [name, ws] : per_plugin) {
      buffer.add("surveyor.agent.plugin.timeouts", "{call}", {{"plugin", name}}, at, static_cast<double>(ws.timeouts));
      buffer.add("surveyor.agent.plugin.skipped", "{call}", {{"plugin", name}}, at, static_cast<double>(ws.skipped));
    }
  }

  void stop(std::function<void()> done) {
    if (stopping) return done();
    stopping = true;
    tick_timer.cancel();
    enroll_timer.cancel();
    checks.stop();
    if (identity && buffer.points() > 0) report(now_ms());
    if (!identity || sender.queued() == 0) return done();
    sender.flush(options.stop_timeout, [this, done = std::move(done)](bool all) {
      if (!all) log.warn("stopping with {} report(s) undelivered", sender.queued());
      done();
    });
  }
};

Runner::Runner(asio::io_context& io, RunnerOptions options, state::StateDir& state, spool::Spool spool,
               std::vector<http::Client*> clients, const core::Clock& clock,
               std::vector<std::unique_ptr<samplers::Sampler>> samplers,
               std::vector<std::unique_ptr<plugins::Plugin>> plugins)
    : impl_(std::make_shared<Impl>(io, std::move(options), state, std::move(spool), std::move(clients), clock,
                                   std::move(samplers), std::move(plugins))) {}

Runner::~Runner() {
  impl_->stopping = true;
  impl_->tick_timer.cancel();
  impl_->enroll_timer.cancel();
  if (impl_->inventory_thread.joinable()) impl_->inventory_thread.join();
  // Now, while the io_context they post to still exists (Impl itself may
  // live on in its handlers until the io_context goes).
  impl_->plugins.clear();
}

void Runner::refresh_inventory() { impl_->refresh_inventory(); }

void Runner::start(std::function<void(int)> fatal) {
  impl_->fatal = std::move(fatal);
  impl_->start();
}

void Runner::stop(std::function<void()> done) { impl_->stop(std::move(done)); }

transport::SenderStats Runner::sender_stats() const { return impl_->sender.stats(); }

}  // namespace surveyor::agent::runner
