// Issue C: how long resuming a run takes. A concurrent swarm makes N LLM calls (default 1,000)
// against the mock with latency; then a new runtime resumes the finished run from its journal
// (every call answered from RocksDB, none sent), and again after a SIGKILL-like stop half-way
// (the runtime is dropped mid-run; the rest of the calls are sent on resume). Beside the resume
// of the finished run, in the same round: RocksDB alone opened on the same database reads the
// run's header (what resuming a finished run needs: the floor) and scans the whole journal.
// Figures for `swarm bench` (bench/records.hpp): scenario "resume", metrics "resume_s" (the
// finished run; floor "raw RocksDB run header read") and "resume_half_s" (floor: the first run).
//
//   bench_resume [--calls 1000] [--latency-ms 20] [--rounds 3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "bench/args.hpp"
#include "bench/records.hpp"
#include "memory/database.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

using namespace swarm;
using clock_type = std::chrono::steady_clock;

namespace {

double secs_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string spec_text(size_t n) {
  std::string out = "name: wide\nswarm: {architecture: concurrent}\nagents:\n";
  for (size_t i = 0; i < n; ++i)
    out += "  - {name: a" + std::to_string(i) + ", system_prompt: You are a" + std::to_string(i) +
           ".}\n";
  return out;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

struct raw_reads {
  double header_s = -1; // one Get of the run's header
  double scan_s = -1;   // every key and value of the journal column family
  size_t entries = 0;   // in the journal column family
};

/// The floors of resuming the finished run, with RocksDB alone opened read-only on the run's
/// database (not timed: the runtime has its database open before a resume starts too): reading
/// the run's header (what a resume of a finished run needs), and reading every entry of the
/// journal. Negative times when the database cannot be read.
raw_reads raw_journal_reads(const std::string& data_dir, const std::string& run_id) {
  raw_reads out;
  auto path = (std::filesystem::path{data_dir} / memory::database::subdirectory).string();
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path, &names).ok())
    return out;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names)
    descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions{}, path, descriptors, &handles, &raw).ok())
    return out;
  std::unique_ptr<rocksdb::DB> db{raw};
  auto handle = [&](std::string_view cf) -> rocksdb::ColumnFamilyHandle* {
    auto at = std::find(names.begin(), names.end(), cf) - names.begin();
    return static_cast<size_t>(at) < names.size() ? handles[static_cast<size_t>(at)] : nullptr;
  };
  if (auto* runs = handle(memory::cf_runs)) {
    std::string header;
    auto t0 = clock_type::now();
    auto st = db->Get(rocksdb::ReadOptions{}, runs, run_id, &header);
    if (st.ok() && !header.empty())
      out.header_s = secs_since(t0);
  }
  if (auto* journal = handle(memory::cf_journal)) {
    auto t0 = clock_type::now();
    size_t bytes = 0;
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(rocksdb::ReadOptions{}, journal)};
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++out.entries)
      bytes += it->key().size() + it->value().size();
    if (it->status().ok() && bytes > 0)
      out.scan_s = secs_since(t0);
  }
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  return out;
}

} // namespace

int main(int argc, char** argv) {
  size_t calls = 1000;
  int latency_ms = 20;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--calls")
      calls = std::stoul(argv[i + 1]);
    else if (k == "--latency-ms")
      latency_ms = std::stoi(argv[i + 1]);
    else if (k == "--rounds")
      rounds = std::stoi(argv[i + 1]);
  }
  bench::raise_fd_limit();
  auto dir =
      std::filesystem::temp_directory_path() / ("swarm-bench-resume-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto script = (dir / "mock.yaml").string();
  {
    std::FILE* f = std::fopen(script.c_str(), "w");
    std::fprintf(f, "latency: {fixed_ms: %d}\ndefault: {reply: 'answer {{n}}'}\n", latency_ms);
    std::fclose(f);
  }
  auto srv = mock_llm::server::start({.threads = 2, .script_path = script});
  if (!srv) {
    std::fprintf(stderr, "cannot start mock\n");
    return 1;
  }
  auto spec = load_spec_text(spec_text(calls), "wide.yaml");
  if (!spec) {
    std::fprintf(stderr, "bad spec\n");
    return 1;
  }
  std::vector<double> run_s, resume_done_s, resume_half_s, header_s, scan_s;
  size_t journal_entries = 0;
  std::vector<uint64_t> half_sent;
  for (int round = 0; round < rounds; ++round) {
    auto data = (dir / ("state-" + std::to_string(round))).string();
    runtime_options opts;
    opts.data_dir = data;
    opts.scheduler_threads = 2;
    auto before = (*srv)->stats().chat_requests;
    {
      runtime rt{opts, {(*srv)->url(), "mock"}};
      auto team = rt.spawn(*spec);
      auto t0 = clock_type::now();
      auto r = team->run({"go", "full-" + std::to_string(round), {}});
      run_s.push_back(secs_since(t0));
      if (!r || r->use.calls != calls)
        std::fprintf(stderr, "first run incomplete\n");
    }
    {
      runtime rt{opts, {(*srv)->url(), "mock"}};
      auto sent = (*srv)->stats().chat_requests;
      auto t0 = clock_type::now();
      auto r = rt.resume("full-" + std::to_string(round));
      resume_done_s.push_back(secs_since(t0));
      if (!r || (*srv)->stats().chat_requests != sent)
        std::fprintf(stderr, "resume of a finished run sent calls\n");
    }
    {
      auto reads = raw_journal_reads(data, "full-" + std::to_string(round));
      if (reads.header_s < 0 || reads.scan_s < 0)
        std::fprintf(stderr, "raw reads of the journal failed\n");
      else {
        header_s.push_back(reads.header_s);
        scan_s.push_back(reads.scan_s);
      }
      journal_entries = reads.entries;
    }
    // Half-way: the runtime is stopped once about half the calls have been answered.
    {
      runtime rt{opts, {(*srv)->url(), "mock"}};
      auto team = rt.spawn(*spec);
      auto start = (*srv)->stats().chat_requests;
      std::thread stopper{[&] {
        while ((*srv)->stats().chat_requests - start < calls / 2)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        rt.stop();
      }};
      (void)team->run({"go", "half-" + std::to_string(round), {}});
      stopper.join();
    }
    {
      runtime rt{opts, {(*srv)->url(), "mock"}};
      auto sent = (*srv)->stats().chat_requests;
      auto t0 = clock_type::now();
      auto r = rt.resume("half-" + std::to_string(round));
      resume_half_s.push_back(secs_since(t0));
      half_sent.push_back((*srv)->stats().chat_requests - sent);
      if (!r)
        std::fprintf(stderr, "resume half-way failed: %s\n", describe(r.error()).c_str());
    }
    (void)before;
  }
  std::printf("bench_resume: %zu calls, mock latency %d ms, %d rounds (medians)\n", calls,
              latency_ms, rounds);
  std::printf("  first run                          %8.3f s\n", median(run_s));
  std::printf("  resume of the finished run          %8.3f s  (0 calls sent)\n",
              median(resume_done_s));
  std::printf("  resume after a stop half-way        %8.3f s  (%llu calls sent, median)\n",
              median(resume_half_s),
              static_cast<unsigned long long>(half_sent[half_sent.size() / 2]));
  std::printf("  floor: raw RocksDB read of the finished run's header   %10.6f s\n",
              header_s.empty() ? -1 : median(header_s));
  std::printf("  raw RocksDB scan of its journal (%zu entries)          %10.6f s\n",
              journal_entries, scan_s.empty() ? -1 : median(scan_s));
  std::vector<bench::param> params{{"calls", calls}};
  std::vector<std::pair<std::string, double>> floors;
  if (!header_s.empty())
    floors = {{"raw RocksDB run header read", median(header_s)},
              {"raw RocksDB journal scan", median(scan_s)}};
  bench::record(
      {"resume", params, "resume_s", "s", bench::better::lower, median(resume_done_s), floors});
  // Half-way: the calls answered before the stop come from the journal, the rest are sent;
  // the floor is the first run of the same round (every call sent).
  bench::record({"resume",
                 params,
                 "resume_half_s",
                 "s",
                 bench::better::lower,
                 median(resume_half_s),
                 {{"first run", median(run_s)}}});
  std::filesystem::remove_all(dir);
  return 0;
}
