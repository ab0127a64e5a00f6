// SPDX-License-Identifier: Apache-2.0
// Bytes per sample of the chunk codec on a JSON-lines dataset
// ({"host","metric","attrs","ts","value"} per line, as
// ../shared/bench/gen_series.py writes it), per metric and overall, with
// encode and decode throughput. Usage: bench_codec DATA.jsonl [BLOCK_HOURS [PER_CHUNK]]:
// with PER_CHUNK, blocks are cut further into chunks of that many samples,
// the size of a report's samples of one series in a store's head, each
// encoded with its series' last denominator as the hint, as the stores do.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "surveyor/codec/chunk.hpp"
#include "surveyor/json/parse.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA.jsonl [BLOCK_HOURS [PER_CHUNK]]\n", argv[0]);
    return 2;
  }
  const std::int64_t block_ms = (argc > 2 ? std::atoll(argv[2]) : 4) * 3'600'000;
  const std::size_t per_chunk = argc > 3 ? static_cast<std::size_t>(std::atoll(argv[3])) : 0;
  std::ifstream in(argv[1]);
  std::map<std::string, std::vector<surveyor::codec::Sample>> series;
  std::map<std::string, std::string> metric_of;
  std::string line;
  std::size_t samples = 0;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    const auto v = surveyor::json::parse_precise(line, ec).as_object();
    std::string key = std::string(v.at("host").as_string()) + "|" + std::string(v.at("metric").as_string());
    for (const auto& kv : v.at("attrs").as_object()) key += "|" + std::string(kv.key()) + "=" + std::string(kv.value().as_string());
    metric_of[key] = std::string(v.at("metric").as_string());
    series[key].push_back({v.at("ts").to_number<std::int64_t>() * 1000, v.at("value").to_number<double>()});
    ++samples;
  }
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_metric;  // bytes, samples
  std::size_t total = 0, chunks = 0;
  std::map<std::string, std::size_t> xor_chunks;  // chunks that fell back to XOR coding
  double encode_s = 0, decode_s = 0;
  for (auto& [key, s] : series) {
    std::size_t i = 0;
    std::int64_t hint = 0;
    while (i < s.size()) {
      const std::int64_t block = s[i].time_ms / block_ms;
      std::size_t j = i;
      while (j < s.size() && s[j].time_ms / block_ms == block && (per_chunk == 0 || j - i < per_chunk)) ++j;
      const auto t0 = std::chrono::steady_clock::now();
      surveyor::codec::ChunkInfo info;
      const std::string bytes = surveyor::codec::encode_chunk({s.data() + i, j - i}, &info, hint);
      if (per_chunk > 0 && (info.search == surveyor::codec::Search::found || info.search == surveyor::codec::Search::hinted))
        hint = info.denominator;
      if (!info.rational) ++xor_chunks[metric_of[key]];
      const auto t1 = std::chrono::steady_clock::now();
      auto back = surveyor::codec::decode_chunk(bytes);
      const auto t2 = std::chrono::steady_clock::now();
      if (!back || back->size() != j - i) {
        std::fprintf(stderr, "round trip failed for %s\n", key.c_str());
        return 1;
      }
      encode_s += std::chrono::duration<double>(t1 - t0).count();
      decode_s += std::chrono::duration<double>(t2 - t1).count();
      total += bytes.size();
      per_metric[metric_of[key]].first += bytes.size();
      per_metric[metric_of[key]].second += j - i;
      ++chunks;
      i = j;
    }
  }
  std::printf("%zu samples, %zu series, %zu chunks of %lld h", samples, series.size(), chunks,
              static_cast<long long>(block_ms / 3'600'000));
  if (per_chunk > 0) std::printf(" (at most %zu samples each)", per_chunk);
  std::printf("\n");
  for (const auto& [m, bs] : per_metric)
    std::printf("  %-36s %6.3f bytes/sample (%zu XOR chunks)\n", m.c_str(), double(bs.first) / double(bs.second),
                xor_chunks[m]);
  std::printf("all: %zu bytes, %.3f bytes/sample\n", total, double(total) / double(samples));
  std::printf("encode %.2f M samples/s (%.2f us a chunk), decode %.1f M samples/s\n", samples / encode_s / 1e6,
              encode_s / static_cast<double>(chunks) * 1e6, samples / decode_s / 1e6);
  return 0;
}
