// SPDX-License-Identifier: Apache-2.0
// Plugin calls off the agent's loop. Design: a thread per plugin (plugins
// are few, and one that blocks must hold up no other), fed one call at a
// time through a Channel. The io_context side starts a call, arms a timer
// for its deadline and lets one more call wait behind it until the
// plugin's thread posts the call's result back. At the deadline the caller
// is told "timed out" and the plugin counts as stuck: the waiting call is
// dropped, new ones are refused, what the stuck call returns later is
// dropped, and calls are accepted again from then on. A C call cannot be
// interrupted, so a stuck thread is left blocked in the plugin; nothing
// else waits for it.
//
// Ownership: the Channel (the plugin itself, the pending call, the flags)
// is shared by the thread and the worker, so a thread abandoned by its
// worker (the agent stopping while a plugin is stuck) still owns its
// plugin, closes it if the call ever returns and posts nothing: the worker
// clears the Channel's io_context under its mutex before it goes.
#include "surveyor/agent/plugins/plugin_worker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <pthread.h>
#include <time.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "surveyor/log/log.hpp"

namespace surveyor::agent::plugins {
namespace {
namespace asio = boost::asio;
using std::chrono::steady_clock;

// What a plugin samples during one call, on its thread.
struct Recorder final : samplers::SampleSink {
  std::vector<SamplePoint> points;
  void add(std::string_view metric, std::string_view unit, samplers::Attrs attrs, std::int64_t time_ms,
           double value) override {
    points.push_back({std::string(metric), std::string(unit), std::move(attrs), time_ms, value});
  }
};

struct Sampled {
  std::vector<SamplePoint> points;
  core::Status status;
};

// What the plugin's thread and its worker share.
struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::function<void(Plugin&)> job;  // the next call
  bool quit = false;                  // close the plugin and end, after the call in progress
  bool finished = false;              // the plugin is closed; the thread is ending
  asio::io_context* io = nullptr;     // where results go; null once the worker is gone
  std::unique_ptr<Plugin> plugin;     // touched only by the thread once it runs

  void post(std::function<void()> f) {
    std::lock_guard lock(mu);
    if (io != nullptr) asio::post(*io, std::move(f));
  }

  void run() {
    for (;;) {
      std::function<void(Plugin&)> next;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return quit || job; });
        if (quit) break;
        next = std::move(job);
        job = nullptr;
      }
      next(*plugin);
    }
    plugin.reset();  // close() and dlclose() after its last call, on its thread
    {
      std::lock_guard lock(mu);
      finished = true;
    }
    cv.notify_all();
  }
};

}  // namespace

struct PluginWorker::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::unique_ptr<Plugin> p)
      : timer(io), channel(std::make_shared<Channel>()), name(p->name()), timeout(p->timeout()) {
    channel->io = &io;
    channel->plugin = std::move(p);
    thread = std::thread([c = channel] { c->run(); });
    has_clock = ::pthread_getcpuclockid(thread.native_handle(), &cpu_clock) == 0;
  }

  asio::steady_timer timer;
  std::shared_ptr<Channel> channel;
  std::thread thread;
  std::string name;
  std::chrono::milliseconds timeout;
  clockid_t cpu_clock{};
  bool has_clock = false;
  mutable std::int64_t cpu_seen = 0;
  std::uint64_t call = 0;  // the number of the latest call
  bool in_call = false;    // it has not returned
  bool late = false;       // it is past its deadline
  std::function<void()> waiting;                  // the call to start when it returns
  std::function<void(core::Error)> drop_waiting;  // tells that call's caller it was not made
  const char* waiting_what = "";
  steady_clock::time_point deadline;
  bool off = false;
  WorkerStats stats;
  log::Logger log{"agent.plugin"};

  core::Error error(const char* what, const char* why) const {
    return core::make_error(PluginErrc::timed_out,
                            name + " " + what + "(): " + why + " within " + std::to_string(timeout.count()) + " ms");
  }

  // Runs `work` on the plugin's thread, now or after the call in progress;
  // `deliver` gets what it returned (on the io_context, if in time), `fail`
  // a timed_out error at the deadline instead.
  template <class R>
  bool start(const char* what, std::function<R(Plugin&)> work, std::function<void(R&&)> deliver,
             std::function<void(core::Error)> fail) {
    if (off) return false;
    if (in_call) {
      if (late || waiting) {
        ++stats.skipped;
        return false;
      }
      waiting = [w = weak_from_this(), what, work = std::move(work), deliver = std::move(deliver), fail] {
        if (auto self = w.lock()) self->begin<R>(what, work, deliver, fail);
      };
      drop_waiting = std::move(fail);
      waiting_what = what;
      return true;
    }
    begin<R>(what, std::move(work), std::move(deliver), std::move(fail));
    return true;
  }

  template <class R>
  void begin(const char* what, std::function<R(Plugin&)> work, std::function<void(R&&)> deliver,
             std::function<void(core::Error)> fail) {
    in_call = true;
    late = false;
    ++stats.calls;
    const std::uint64_t id = ++call;
    deadline = steady_clock::now() + timeout;
    const auto started = steady_clock::now();
    timer.expires_at(deadline);
    timer.async_wait([w = weak_from_this(), id, what, fail](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (ec || !self || self->call != id || !self->in_call || self->off) return;
      self->late = true;
      ++self->stats.timeouts;
      self->log.warn("{}: {}() has not returned after {} ms; not called again until it does", self->name, what,
                     self->timeout.count());
      if (self->waiting) {
        ++self->stats.skipped;
        self->waiting = nullptr;
        std::exchange(self->drop_waiting, nullptr)(
            self->error(self->waiting_what, "not called: the call before it did not return"));
      }
      fail(self->error(what, "did not return"));
    });
    {
      std::lock_guard lock(channel->mu);
      channel->job = [w = weak_from_this(), id, what, started, work = std::move(work), deliver = std::move(deliver),
                      ch = channel.get()](Plugin& p) {
        auto result = std::make_shared<R>(work(p));
        ch->post([w, id, what, started, deliver, result] {
          auto self = w.lock();
          if (!self || self->call != id) return;
          self->in_call = false;
          self->timer.cancel();
          if (self->off) return;
          const bool was_late = self->late;
          // The waiting call first, so that whatever `deliver` asks for
          // waits behind it.
          if (self->waiting) {
            self->drop_waiting = nullptr;
            std::exchange(self->waiting, nullptr)();
          }
          if (was_late) {
            const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started);
            self->log.warn("{}: {}() returned after {} ms, past its deadline; its result is dropped", self->name,
                           what, took.count());
          } else {
            deliver(std::move(*result));
          }
        });
      };
    }
    channel->cv.notify_all();
  }
};

PluginWorker::PluginWorker(asio::io_context& io, std::unique_ptr<Plugin> plugin)
    : impl_(std::make_shared<Impl>(io, std::move(plugin))) {}

PluginWorker::~PluginWorker() {
  Impl& s = *impl_;
  s.timer.cancel();
  std::unique_lock lock(s.channel->mu);
  s.channel->quit = true;
  s.channel->io = nullptr;
  s.channel->cv.notify_all();
  // A call still within its deadline may finish, and close() gets the
  // plugin's timeout; a stuck plugin gets nothing more.
  const auto until = s.late ? steady_clock::now() : (s.in_call ? s.deadline : steady_clock::now()) + s.timeout;
  const bool ended = s.channel->cv.wait_until(lock, until, [&] { return s.channel->finished; });
  lock.unlock();
  if (ended) {
    s.thread.join();
  } else {
    s.log.warn("{} is stuck; leaving its thread behind", s.name);
    s.thread.detach();
  }
}

const std::string& PluginWorker::name() const { return impl_->name; }

bool PluginWorker::sample(std::int64_t now_ms, SampleDone done) {
  Impl* s = impl_.get();
  auto shared_done = std::make_shared<SampleDone>(std::move(done));
  return s->start<Sampled>(
      "sample",
      [now_ms](Plugin& p) {
        Recorder r;
        core::Status st = p.sample(now_ms, r);
        return Sampled{std::move(r.points), std::move(st)};
      },
      [s, shared_done](Sampled&& r) {
        if (!r.status) ++s->stats.failures;
        (*shared_done)(std::move(r.points), std::move(r.status));
      },
      [shared_done](core::Error e) { (*shared_done)({}, std::move(e)); });
}

bool PluginWorker::instances(InstancesDone done) {
  Impl* s = impl_.get();
  auto shared_done = std::make_shared<InstancesDone>(std::move(done));
  using Found = core::Result<std::vector<wire::Instance>>;
  return s->start<Found>(
      "inventory", [](Plugin& p) { return p.instances(); },
      [s, shared_done](Found&& r) {
        if (!r) ++s->stats.failures;
        (*shared_done)(std::move(r));
      },
      [shared_done](core::Error e) { (*shared_done)(std::move(e)); });
}

void PluginWorker::disable() {
  Impl& s = *impl_;
  if (s.off) return;
  s.off = true;
  s.timer.cancel();
  s.waiting = nullptr;
  s.drop_waiting = nullptr;
  {
    std::lock_guard lock(s.channel->mu);
    s.channel->quit = true;
  }
  s.channel->cv.notify_all();
}

bool PluginWorker::disabled() const { return impl_->off; }
bool PluginWorker::busy() const { return impl_->in_call; }
WorkerStats PluginWorker::stats() const { return impl_->stats; }

std::int64_t PluginWorker::cpu_ns() const {
  Impl& s = *impl_;
  {
    // Once the thread ends its clock id is meaningless (its tid may be reused).
    std::lock_guard lock(s.channel->mu);
    if (!s.has_clock || s.channel->finished) return s.cpu_seen;
  }
  timespec t{};
  if (::clock_gettime(s.cpu_clock, &t) == 0) s.cpu_seen = t.tv_sec * 1'000'000'000LL + t.tv_nsec;
  return s.cpu_seen;
}

}  // namespace surveyor::agent::plugins
