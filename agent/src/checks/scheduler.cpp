// SPDX-License-Identifier: Apache-2.0
// Check scheduling. Design: timers on the agent's io_context decide when a
// check is due; a due check goes to a queue served by `concurrency` worker
// threads; a finished check posts its outcome back to the io_context. The
// workers touch nothing but the queue (under its mutex) and the spec they
// run, which is immutable once started. stop() makes an eventfd readable
// that every running exec check polls, so a long check (with what it
// started) is killed at once rather than holding the join until its
// timeout; a tcp or http check ends within its own timeout.
#include "surveyor/agent/checks/scheduler.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace surveyor::agent::checks {
namespace {
namespace asio = boost::asio;
constexpr std::size_t kMaxResults = 1000;
}  // namespace

struct CheckScheduler::Impl : std::enable_shared_from_this<Impl> {
  struct Slot {
    CheckSpec spec;
    std::unique_ptr<asio::steady_timer> timer;
    bool running = false;
    bool disabled = false;
  };

  Impl(asio::io_context& io_, std::vector<CheckSpec> checks, std::size_t n, std::string proc, const core::Clock& c)
      : io(io_), concurrency(std::max<std::size_t>(1, n)), proc_root(std::move(proc)), clock(c) {
    for (auto& spec : checks) slots.push_back(Slot{std::move(spec), std::make_unique<asio::steady_timer>(io_), false, false});
  }
  ~Impl() {
    if (cancel_fd >= 0) ::close(cancel_fd);
  }

  asio::io_context& io;
  std::size_t concurrency;
  std::string proc_root;
  const core::Clock& clock;
  std::vector<Slot> slots;
  std::deque<CheckOutcome> results;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::size_t> queue;  // slot indexes due to run
  bool stopping = false;
  std::vector<std::thread> workers;
  // Readable once stopping: running checks end (-1 if there is none; then
  // they end at their timeouts).
  int cancel_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

  void schedule(std::size_t i) {
    Slot& s = slots[i];
    if (s.disabled || stopping) return;
    const std::int64_t now = core::to_unix_ms(clock.now());
    const std::int64_t step = s.spec.interval.count();
    const std::int64_t at = (now / step + 1) * step;
    s.timer->expires_after(std::chrono::milliseconds(at - now));
    s.timer->async_wait([w = weak_from_this(), i](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (ec || !self) return;
      self->due(i);
      self->schedule(i);
    });
  }

  void due(std::size_t i) {
    Slot& s = slots[i];
    if (s.running || s.disabled) return;
    s.running = true;
    {
      std::lock_guard lock(mu);
      queue.push_back(i);
    }
    cv.notify_one();
  }

  void work() {
    for (;;) {
      std::size_t i;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return stopping || !queue.empty(); });
        if (stopping) return;
        i = queue.front();
        queue.pop_front();
      }
      timespec before{}, after{};
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
      CheckOutcome out = run_check(slots[i].spec, proc_root, core::to_unix_ms(clock.now()), cancel_fd);
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
      out.agent_cpu_ns = (after.tv_sec - before.tv_sec) * 1'000'000'000LL + (after.tv_nsec - before.tv_nsec);
      asio::post(io, [w = weak_from_this(), i, out = std::move(out)]() mutable {
        auto self = w.lock();
        if (!self) return;
        self->slots[i].running = false;
        self->results.push_back(std::move(out));
        while (self->results.size() > kMaxResults) self->results.pop_front();
      });
    }
  }

  void stop() {
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      stopping = true;
      queue.clear();
    }
    cv.notify_all();
    if (cancel_fd >= 0) {
      const std::uint64_t one = 1;
      (void)!::write(cancel_fd, &one, sizeof one);
    }
    for (auto& s : slots) s.timer->cancel();
    for (auto& t : workers)
      if (t.joinable()) t.join();
  }
};

CheckScheduler::CheckScheduler(asio::io_context& io, std::vector<CheckSpec> checks, std::size_t concurrency,
                               std::string proc_root, const core::Clock& clock)
    : impl_(std::make_shared<Impl>(io, std::move(checks), concurrency, std::move(proc_root), clock)) {}

CheckScheduler::~CheckScheduler() { impl_->stop(); }

void CheckScheduler::start() {
  if (impl_->slots.empty()) return;
  for (std::size_t i = 0; i < std::min(impl_->concurrency, impl_->slots.size()); ++i)
    impl_->workers.emplace_back([impl = impl_.get()] { impl->work(); });
  for (std::size_t i = 0; i < impl_->slots.size(); ++i) {
    impl_->due(i);  // once at start, then on the interval
    impl_->schedule(i);
  }
}

void CheckScheduler::stop() { impl_->stop(); }

std::vector<CheckOutcome> CheckScheduler::take_results() {
  std::vector<CheckOutcome> out(std::make_move_iterator(impl_->results.begin()),
                                std::make_move_iterator(impl_->results.end()));
  impl_->results.clear();
  return out;
}

bool CheckScheduler::disable(const std::string& name) {
  for (auto& s : impl_->slots) {
    if (s.spec.name != name) continue;
    s.disabled = true;
    s.timer->cancel();
    return true;
  }
  return false;
}

}  // namespace surveyor::agent::checks
