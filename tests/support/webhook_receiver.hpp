// SPDX-License-Identifier: Apache-2.0
// A webhook receiver on a loopback port, for tests that link the collector's
// server: it answers with the statuses given, in turn, then 200, and keeps
// what it got.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "surveyor/collector/server/server.hpp"
#include "surveyor/http/message.hpp"

namespace surveyor::test {

class WebhookReceiver {
 public:
  explicit WebhookReceiver(std::vector<unsigned> statuses = {}) : statuses_(std::move(statuses)) {
    auto router = std::make_shared<collector::server::Router>();
    router->add("POST", "/hook", "hook", [this](const http::Request& r, const collector::server::Params&) {
      std::lock_guard lock(mu_);
      got_.push_back(r);
      http::Response res;
      res.status = got_.size() <= statuses_.size() ? statuses_[got_.size() - 1] : 200;
      return res;
    });
    collector::server::ServerOptions o;
    o.port = 0;
    o.io_threads = 1;
    o.worker_threads = 1;
    server_ = std::make_unique<collector::server::Server>(o, router);
    EXPECT_TRUE(server_->start());
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  std::vector<http::Request> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::vector<unsigned> statuses_;
  std::mutex mu_;
  std::vector<http::Request> got_;
  std::unique_ptr<collector::server::Server> server_;
};

}  // namespace surveyor::test
