// SPDX-License-Identifier: Apache-2.0
// Webhook messages: grouping, body, signature, delivery with back-off.
#include "surveyor/collector/notify/webhooks.hpp"

#include <algorithm>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "surveyor/core/crypto.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/log/log.hpp"

namespace surveyor::collector::notify {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

std::vector<Message> group(const std::vector<incidents::Notice>& notices) {
  std::vector<Message> out;
  std::map<std::string, std::size_t> message_of;  // root incident id -> message
  for (const incidents::Notice& n : notices)
    if (n.incident.parent.empty() && !message_of.contains(n.incident.id)) {
      message_of[n.incident.id] = out.size();
      out.push_back({core::random_hex(16), {n}});
    }
  for (const incidents::Notice& n : notices) {
    if (n.incident.parent.empty()) continue;
    // Up the chain of parents to a root with a message in this step.
    auto it = message_of.find(n.incident.parent);
    if (it == message_of.end())
      for (const incidents::Notice& p : notices)
        if (p.incident.id == n.incident.parent && !p.incident.parent.empty()) it = message_of.find(p.incident.parent);
    if (it != message_of.end()) out[it->second].notices.push_back(n);
    // A consequence resolving after its cause did is news of its own; its
    // opening (and any change while its cause holds) travelled with the cause.
    else if (n.event == "resolved") out.push_back({core::random_hex(16), {n}});
  }
  return out;
}

std::string render(const Message& m, std::int64_t now_ms) {
  json::array linked;
  json::value root;
  std::string summary;
  for (std::size_t i = 0; i < m.notices.size(); ++i) {
    const incidents::Notice& n = m.notices[i];
    json::value v = json::parse(store::incident_to_json(n.incident));
    // The timeline stays in the API (GET /api/v1/incidents/ID): a message stays small.
    v.as_object().erase("timeline");
    v.as_object()["event"] = n.event;
    if (i == 0) {
      root = std::move(v);
      summary = n.incident.id + " " + n.event + " (P" + std::to_string(n.incident.priority) + "): " + n.incident.summary;
    } else {
      linked.push_back(std::move(v));
    }
  }
  if (!linked.empty()) summary += "; " + std::to_string(linked.size()) + " linked incident(s)";
  return json::serialize(json::object{{"message_id", m.id},
                                      {"time", core::format_rfc3339(now_ms)},
                                      {"event", m.notices.front().event},
                                      {"summary", summary},
                                      {"incident", std::move(root)},
                                      {"linked", std::move(linked)}});
}

http::Headers sign(std::string_view secret, std::string_view body, std::int64_t now_ms) {
  const std::string ts = std::to_string(now_ms / 1000);
  std::string signed_text = ts;
  signed_text += '.';
  signed_text += body;
  return {{"X-Surveyor-Timestamp", ts}, {"X-Surveyor-Signature", "sha256=" + core::hmac_sha256_hex(secret, signed_text)}};
}

Notifier::Notifier(std::vector<Webhook> hooks, std::shared_ptr<store::IncidentStore> log, const core::Clock& clock,
                   Backoff backoff, std::size_t max_queued)
    : hooks_(std::move(hooks)),
      log_(std::move(log)),
      clock_(clock),
      backoff_(backoff),
      max_queued_(std::max<std::size_t>(1, max_queued)),
      workers_(hooks_.size()) {
  for (std::size_t h = 0; h < workers_.size(); ++h) workers_[h].thread = std::thread([this, h] { loop(h); });
}

Notifier::~Notifier() { stop(); }

void Notifier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (Worker& w : workers_)
    if (w.thread.joinable()) w.thread.join();
}

void Notifier::send(const std::vector<incidents::Notice>& notices) {
  if (hooks_.empty() || notices.empty()) return;
  static log::Logger log("webhooks");
  const std::int64_t now = core::to_unix_ms(clock_.now());
  std::vector<Pending> add;
  for (const Message& m : group(notices)) {
    const std::string body = render(m, now);
    std::vector<std::string> ids;
    for (const incidents::Notice& n : m.notices) ids.push_back(n.incident.id);
    for (std::size_t h = 0; h < hooks_.size(); ++h) {
      const Webhook& w = hooks_[h];
      // A webhook wants the message if it wants any incident in it (a P4
      // check failure that takes a critical service down comes with a P1).
      const bool wanted = std::any_of(m.notices.begin(), m.notices.end(), [&](const incidents::Notice& n) {
        return n.incident.priority <= w.max_priority &&
               (w.kinds.empty() || std::find(w.kinds.begin(), w.kinds.end(),
                                             std::string(store::to_string(n.incident.kind))) != w.kinds.end());
      });
      if (wanted) add.push_back({h, m.id, m.notices.front().event, body, ids, 1, Steady::now()});
    }
  }
  {
    std::lock_guard lock(mu_);
    for (Pending& p : add) {
      std::deque<Pending>& q = workers_[p.hook].queue;
      if (q.size() >= max_queued_) {
        log.error("webhook {}: {} messages queued; dropping the oldest ({})", hooks_[p.hook].name, q.size(),
                  q.front().message_id);
        q.pop_front();
      }
      q.push_back(std::move(p));
    }
  }
  cv_.notify_all();
}

bool Notifier::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] {
    return std::all_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.queue.empty() && !w.busy; });
  });
}

void Notifier::loop(std::size_t hook) {
  Worker& me = workers_[hook];
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (me.queue.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto next = std::min_element(me.queue.begin(), me.queue.end(),
                                 [](const Pending& a, const Pending& b) { return a.due < b.due; });
    if (next->due > Steady::now()) {
      cv_.wait_until(lock, next->due);
      continue;
    }
    Pending p = std::move(*next);
    me.queue.erase(next);
    me.busy = true;
    lock.unlock();
    attempt(std::move(p));
    lock.lock();
    me.busy = false;
    cv_.notify_all();
  }
}

void Notifier::attempt(Pending p) {
  static log::Logger log("webhooks");
  const Webhook& w = hooks_[p.hook];
  const std::int64_t now = core::to_unix_ms(clock_.now());
  store::Delivery d;
  d.time_ms = now;
  d.webhook = w.name;
  d.message_id = p.message_id;
  d.incidents = p.incidents;
  d.attempt = p.attempt;
  bool retry = false;
  auto url = http::parse_url(w.url);
  if (!url) {
    d.error = url.error().message;
  } else {
    http::Request req;
    req.method = "POST";
    req.target = url->base_path.empty() ? "/" : "";
    req.body = p.body;
    req.headers = sign(w.secret, p.body, now);
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("X-Surveyor-Delivery", p.message_id);
    req.headers.emplace_back("X-Surveyor-Event", p.event);
    http::ClientOptions o;
    o.timeout = w.timeout;
    o.max_response_body = 64 * 1024;
    o.ca_file = w.ca_file;
    auto r = http::fetch(*url, std::move(req), o);
    if (!r) {
      d.error = r.error().message;
      retry = true;
    } else {
      d.status = static_cast<int>(r->status);
      d.delivered = r->status >= 200 && r->status < 300;
      // Server trouble and throttling are worth another try; other refusals are not.
      retry = r->status >= 500 || r->status == 408 || r->status == 429;
      if (!d.delivered) d.error = "HTTP " + std::to_string(r->status);
    }
  }
  if (auto st = log_->record_delivery(d); !st)
    log.warn("cannot log delivery of {} to {}: {}", p.message_id, w.name, st.error().describe());
  if (d.delivered) return;
  if (retry && p.attempt < w.max_attempts) {
    const std::chrono::milliseconds wait =
        std::min<std::chrono::milliseconds>(backoff_.first * (std::int64_t{1} << std::min(p.attempt - 1, 20)), backoff_.max);
    log.warn("webhook {}: message {} not delivered ({}); attempt {} of {} in {} ms", w.name, p.message_id, d.error,
             p.attempt + 1, w.max_attempts, wait.count());
    ++p.attempt;
    p.due = Steady::now() + wait;
    std::lock_guard lock(mu_);
    workers_[p.hook].queue.push_back(std::move(p));
    return;
  }
  log.error("webhook {}: message {} given up after {} attempt(s): {}", w.name, p.message_id, p.attempt, d.error);
}

}  // namespace surveyor::collector::notify
