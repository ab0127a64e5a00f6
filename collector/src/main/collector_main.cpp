// SPDX-License-Identifier: Apache-2.0
// surveyor-collector: options in, app::run.
#include <pthread.h>

#include <csignal>

#include "surveyor/collector/app/app.hpp"
#include "surveyor/config/cli.hpp"

int main(int argc, char** argv) {
  using namespace surveyor;
  if (argc > 1 && collector::app::is_admin_command(argv[1])) return collector::app::admin_main(argc, argv);
  // Block the stop signals before any thread starts, so all inherit the mask
  // and app::run can take them with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return config::daemon_main(argc, argv, "surveyor-collector",
                             "the Surveyor collector (CMDB, capacity, availability)", collector::app::schema(),
                             collector::app::run);
}
