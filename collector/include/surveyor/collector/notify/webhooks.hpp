// SPDX-License-Identifier: Apache-2.0
// Incident notifications by webhook (docs/incidents.md): one JSON message
// per incident that changed and the incidents linked to it (a host outage is
// one message, not one per service and check), signed with HMAC-SHA256,
// retried with exponential back-off, every attempt on the delivery log.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/http/message.hpp"

namespace surveyor::collector::notify {

struct Webhook {
  std::string name;
  std::string url;  // http:// or https://HOST[:PORT][/PATH]
  std::string secret;
  int max_priority = 5;             // incidents of this priority or higher (1 is the highest)
  std::vector<std::string> kinds;   // empty: every kind
  int max_attempts = 8;
  std::chrono::milliseconds timeout{10'000};
  std::string ca_file;  // https: the CA the receiver's certificate is checked against (empty: the system's)
};

// One step's notices as messages: an incident with the notices of the
// incidents linked to it. A linked incident whose parent has no notice in the
// step is not sent on its own (it is suppressed; the API shows it).
struct Message {
  std::string id;  // the same for every attempt (X-Surveyor-Delivery)
  std::vector<incidents::Notice> notices;  // the root first
};
[[nodiscard]] std::vector<Message> group(const std::vector<incidents::Notice>& notices);

// The JSON body of a message.
[[nodiscard]] std::string render(const Message& m, std::int64_t now_ms);

// X-Surveyor-Timestamp (Unix seconds) and X-Surveyor-Signature
// ("sha256=" + hex HMAC-SHA256 of "TIMESTAMP.BODY" under the secret).
[[nodiscard]] http::Headers sign(std::string_view secret, std::string_view body, std::int64_t now_ms);

struct Backoff {
  std::chrono::milliseconds first{1'000};  // doubled after each failed attempt
  std::chrono::milliseconds max{300'000};
};

// Sends messages from a thread per webhook, so evaluation never waits on a
// receiver and a dead receiver does not hold up the others. Each webhook
// queues at most max_queued messages (beyond, the oldest is dropped and
// logged). Messages still queued when the collector stops are lost (the
// incidents themselves are in the store).
class Notifier {
 public:
  Notifier(std::vector<Webhook> hooks, std::shared_ptr<store::IncidentStore> log, const core::Clock& clock,
           Backoff backoff = {}, std::size_t max_queued = 10'000);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Groups the notices and queues one delivery per message and webhook that wants it.
  void send(const std::vector<incidents::Notice>& notices);
  // Waits until nothing is queued or in flight; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  void stop();

 private:
  struct Pending {
    std::size_t hook = 0;
    std::string message_id, event, body;
    std::vector<std::string> incidents;
    int attempt = 1;
    std::chrono::steady_clock::time_point due;
  };
  struct Worker {
    std::deque<Pending> queue;
    bool busy = false;
    std::thread thread;
  };
  void loop(std::size_t hook);
  void attempt(Pending p);

  std::vector<Webhook> hooks_;
  std::shared_ptr<store::IncidentStore> log_;
  const core::Clock& clock_;
  Backoff backoff_;
  std::size_t max_queued_;
  std::mutex mu_;  // guards the workers' queues and busy flags, and stopping_
  std::condition_variable cv_;
  std::vector<Worker> workers_;
  bool stopping_ = false;
};

}  // namespace surveyor::collector::notify
