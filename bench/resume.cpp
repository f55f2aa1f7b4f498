// Issue C: how long resuming a run takes. A concurrent swarm makes N LLM calls (default 1,000)
// against the mock with latency; then a new runtime resumes the finished run from its journal
// (every call answered from RocksDB, none sent), and again after a SIGKILL-like stop half-way
// (the runtime is dropped mid-run; the rest of the calls are sent on resume).
//
//   bench_resume [--calls 1000] [--latency-ms 20] [--rounds 3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/args.hpp"
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
  std::vector<double> run_s, resume_done_s, resume_half_s;
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
  std::filesystem::remove_all(dir);
  return 0;
}
