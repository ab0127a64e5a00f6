// SPDX-License-Identifier: Apache-2.0
// The values of the verbs' options, which CLI11 fills in as it parses and the
// handlers read. One struct per group of verbs that ask alike.
#pragma once

#include <string>
#include <vector>

namespace surveyor::cli::commands {

// cis, ci show and impact.
struct CiOptions {
  std::string type, name;  // cis: --type, --name
  std::string ref;         // ci show, impact: the CI, by id or name
  std::string depth;       // impact: --depth
};

// audit.
struct AuditOptions {
  std::string ci, since, kind, limit = "100";
  bool unauthorized = false;
  std::string checkpoint, save;  // audit verify: --checkpoint, --save
};

// service show.
struct ServiceOptions {
  std::string name;
};

// sla report and sla recompute.
struct SlaOptions {
  std::string service, period, version, format = "table";
  std::string reason;
};

// trend, forecast and capacity report: which series, and the question's own
// options. `cis` is the first positional argument, `metric` the second.
struct SeriesOptions {
  std::string cis, type, service, metric;
  std::vector<std::string> attrs;
  bool exact = false;
  std::string from, to, step, agg, across;  // trend
  std::string window, threshold, predict;   // forecast (window: capacity report too)
  bool below = false;                       // forecast
  std::string source;                       // trend, forecast
  std::string format = "table";             // capacity report
};

// capacity events.
struct EventOptions {
  std::string state, kind, ci;
};

// incidents, incidents kpis and the incident verbs.
struct IncidentOptions {
  std::string state, kind, subject, priority, limit = "100";  // incidents
  std::string period;                                         // incidents kpis
  std::string id, text;                                        // incident show and actions
};

// change create, list and show.
struct ChangeOptions {
  std::string cis, start, end, reference, description;  // create
  bool yes = false;                                     // create: no question asked
  std::string ci;                                       // list: --ci
  bool current = false;                                 // list: --current
  std::string id;                                       // show
};

// evidence and evidence verify.
struct EvidenceOptions {
  std::string clause, period, format = "html", table, output;
  std::string file;  // verify
};

struct Options {
  EvidenceOptions evidence;
  CiOptions ci;
  ChangeOptions changes;
  AuditOptions audit;
  ServiceOptions service;
  SlaOptions sla;
  SeriesOptions series;
  EventOptions events;
  IncidentOptions incidents;
};

}  // namespace surveyor::cli::commands
