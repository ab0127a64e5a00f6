// SPDX-License-Identifier: Apache-2.0
// The series of a report on Redis (reports.cpp applies the rest): which
// series each CI holds, the samples they do not hold yet, and the writes
// that add those to the CIs' heads. On one Redis they are read and written
// in the report's own transaction; on a store spread over a cluster, CI by
// CI, each in a transaction on the master of the CI's slot.
#pragma once

#include <optional>
#include <span>

#include "head.hpp"

namespace surveyor::collector::redis {

// A series the report writes, once (a series twice in one report is one,
// its first copy winning at a time both hold).
struct Written {
  std::string sid, member;
  std::vector<Sample> samples;  // every copy's, in the report's order
  std::uint64_t number = 0;     // in its CI's head
  bool numbered = false;        // the number is stored already
  std::optional<std::int64_t> newest;  // the newest time the series holds, when known
  std::vector<Sample> fresh;    // sorted: the samples it does not hold yet
  bool look_up = false;         // some samples may be held: read the head and chunks
};
// The series a report writes to one CI, with its head's metadata.
struct CiWrites {
  std::vector<std::size_t> written;  // into the report's Written
  std::uint64_t seq = 0, numbers = 0;
  bool numbers_given = false;
  std::optional<std::int64_t> oldest;  // the oldest time the head holds
};

// A report's series, and where their replies are among the reads.
struct ReportSeries {
  const ReportBatch* batch = nullptr;
  std::vector<std::string> sids, members;  // of each of batch->series
  std::map<std::string, std::vector<std::size_t>> series_of_ci;  // of those read
  std::vector<Written> written;
  std::map<std::string, CiWrites> by_ci;
  std::size_t meta_at = 0, known_at = 0;
};

// Appends to `pre` the WATCH and reads of the report's series of CI `only`
// (or of all): which each CI holds already (and their units) is read
// first, so only new series and changed units are written.
void add_series_reads(const Backend& b, ReportSeries& p, std::vector<Argv>& pre, std::optional<std::string_view> only);

// The writes of the report's series (those read by add_series_reads,
// replies in `got`): new series with their units into `tx`, and into
// `indexes` the index of every series (on a spread store it is written
// first, in the store's own slot: it may name a series not yet written,
// never miss one); the samples not held yet into their CIs' heads.
core::Status plan_series(Connection& c, Backend& b, ReportSeries& p, std::span<const Reply> got, std::vector<Argv>& tx,
                         std::vector<Argv>& indexes);

}  // namespace surveyor::collector::redis
