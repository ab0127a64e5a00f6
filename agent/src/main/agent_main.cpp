// SPDX-License-Identifier: Apache-2.0
// surveyor-agent: options in, app::run.
#include <malloc.h>

#include <csignal>

#include "surveyor/agent/app/app.hpp"
#include "surveyor/config/cli.hpp"

int main(int argc, char** argv) {
  using namespace surveyor;
  std::signal(SIGPIPE, SIG_IGN);
  // One malloc arena: the few worker threads allocate little, and each extra
  // arena would keep its own freed memory resident.
  mallopt(M_ARENA_MAX, 1);
  return config::daemon_main(argc, argv, "surveyor-agent",
                             "reports this host's inventory and capacity to a Surveyor collector",
                             agent::app::schema(), agent::app::run,
                             {{"--inventory", "collect the inventory once, print it as JSON and exit",
                               agent::app::print_inventory},
                              {"--rotate-key", "replace this agent's key with a new one from the collector and exit",
                               agent::app::rotate_key},
                              {"--enroll",
                               "enroll with collector_url and the enrollment token once, record them in the "
                               "configuration's drop-in directory and exit (0 enrolled or already, 1 unreachable or "
                               "failed, 2 bad configuration, 3 token refused)",
                               agent::app::enroll_once,
                               "enroll",
                               {{"--collector", "collector_url"},
                                {"--token-file", "enrollment_token_file"}},
                               "/etc/surveyor/agent.toml"}});
}
