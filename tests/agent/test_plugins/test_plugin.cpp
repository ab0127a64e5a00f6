// SPDX-License-Identifier: Apache-2.0
// A plugin for tests; its behaviour is chosen at build time by TEST_PLUGIN_MODE:
// 0 well-behaved, 1 built for another ABI, 2 refuses to open, 3 fails and
// misbehaves, 4 blocks: with the option block_fd=N, every sample() and
// inventory() first reads one byte from file descriptor N (a pipe the test
// holds), so it blocks until the test writes one or closes the pipe.
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "surveyor/plugin.h"

namespace {

int counter = 0;
int block_fd = -1;

void maybe_block() {
  if (TEST_PLUGIN_MODE != 4 || block_fd < 0) return;
  char byte;
  while (::read(block_fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

void* p_open(const surveyor_host* h, const surveyor_kv* o, size_t n) {
  if (TEST_PLUGIN_MODE == 2) {
    h->log(h->ctx, SURVEYOR_LOG_ERROR, "cannot start: no server");
    return nullptr;
  }
  counter = (n == 1 && o[0].key && o[0].value) ? 100 : 0;
  for (size_t i = 0; i < n; ++i)
    if (o[i].key && o[i].value && std::strcmp(o[i].key, "block_fd") == 0) block_fd = std::atoi(o[i].value);
  return &counter;
}

int p_sample(void* state, const surveyor_host* h, int64_t now) {
  maybe_block();
  int& c = *static_cast<int*>(state);
  ++c;
  if (TEST_PLUGIN_MODE == 3) {
    // Bad input the host must survive: null and unprintable names, many attributes.
    h->sample(h->ctx, nullptr, "1", nullptr, 0, now, 1);
    h->sample(h->ctx, "has space", "1", nullptr, 0, now, 1);
    surveyor_kv many[64];
    for (auto& kv : many) kv = {"k", "v"};
    h->sample(h->ctx, "test.many", "1", many, 64, now, 2);
    return 5;
  }
  const surveyor_kv attrs[] = {{"zeta", "1"}, {"alpha", "2"}};
  h->sample(h->ctx, "test.counter", "{call}", attrs, 2, now, c);
  return 0;
}

int p_inventory(void*, const surveyor_host* h) {
  maybe_block();
  const surveyor_kv attrs[] = {{"role", "primary"}};
  h->instance(h->ctx, "testdb", "127.0.0.1:1", "9.9", attrs, 1);
  return 0;
}

void p_close(void*) {}

const surveyor_plugin kPlugin{TEST_PLUGIN_MODE == 1 ? 99u : SURVEYOR_PLUGIN_ABI_VERSION, "test", "0", p_open, p_sample,
                              p_inventory, p_close};

}  // namespace

extern "C" __attribute__((visibility("default"))) const surveyor_plugin* surveyor_plugin_entry(void) { return &kPlugin; }
