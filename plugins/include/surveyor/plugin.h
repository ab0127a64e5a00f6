/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-process plugin ABI of surveyor-agent, version 1.
 *
 * A plugin is a shared object that exports one function,
 * surveyor_plugin_entry(), returning a static description of itself. The
 * agent dlopen()s it, checks abi_version, calls open() once with the
 * options from its [[plugin]] table, sample() every sample interval and
 * inventory() whenever it collects its inventory, and close() when it
 * stops. open() runs on the agent's main thread; sample(), inventory() and
 * close() run on a thread the agent keeps for this plugin alone, one call
 * at a time. Each sample() and inventory() call has a deadline (the
 * table's `timeout`): a call past it counts as timed out, what it returns
 * later is dropped, and the plugin is not called again until it has
 * returned. A blocked call is never interrupted, only waited out; a plugin
 * should bound its own I/O. Everything the plugin reports goes through the
 * callbacks in surveyor_host, during a call and from the calling thread;
 * they copy what they are given: pointers passed to them need only live
 * for the call.
 *
 * Plain C, so plugins can be written in any language with a C ABI and keep
 * working across agent versions that keep SURVEYOR_PLUGIN_ABI_VERSION.
 */
#ifndef SURVEYOR_PLUGIN_H
#define SURVEYOR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SURVEYOR_PLUGIN_ABI_VERSION 1u

typedef struct surveyor_kv {
  const char* key;
  const char* value;
} surveyor_kv;

enum surveyor_log_level { SURVEYOR_LOG_DEBUG = 0, SURVEYOR_LOG_INFO = 1, SURVEYOR_LOG_WARN = 2, SURVEYOR_LOG_ERROR = 3 };

typedef struct surveyor_host {
  uint32_t abi_version; /* the agent's SURVEYOR_PLUGIN_ABI_VERSION */
  void* ctx;            /* the agent's; pass it back as the first argument */
  /* One sample: an OpenTelemetry-style metric name, its unit, attributes. */
  void (*sample)(void* ctx, const char* metric, const char* unit, const surveyor_kv* attributes,
                 size_t n_attributes, int64_t time_ms, double value);
  /* An application instance the plugin found, for the host's inventory. */
  void (*instance)(void* ctx, const char* kind, const char* name, const char* version,
                   const surveyor_kv* attributes, size_t n_attributes);
  void (*log)(void* ctx, int level, const char* message);
} surveyor_host;

typedef struct surveyor_plugin {
  uint32_t abi_version; /* SURVEYOR_PLUGIN_ABI_VERSION the plugin was built against */
  const char* name;     /* short, stable: "redis" */
  const char* version;
  /* Returns the plugin's state, or NULL (after logging why) if it cannot run. */
  void* (*open)(const surveyor_host* host, const surveyor_kv* options, size_t n_options);
  /* Every sample interval. Returns 0, or non-zero after logging a failure. */
  int (*sample)(void* state, const surveyor_host* host, int64_t now_ms);
  /* When the agent collects its inventory. May be NULL. Returns like sample. */
  int (*inventory)(void* state, const surveyor_host* host);
  void (*close)(void* state);
} surveyor_plugin;

/* The one symbol a plugin exports. */
const surveyor_plugin* surveyor_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* SURVEYOR_PLUGIN_H */
