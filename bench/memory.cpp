// Scenario `memory` (issue C): (a) memory writes/s through the actor API (working memory and
// long-term memory) next to raw RocksDB puts of the same bytes in the same run; (b) recall top-10
// latency p50/p99 at growing corpus sizes, BM25 through the long-term memory actor and nearest
// neighbours in the HNSW vector index. Synthetic corpus: Zipfian vocabulary (s = 1.07, 50,000
// words), 20-60 words per memory; queries of 2-5 words from the same distribution; vectors
// are a bag-of-words random projection of the same kind of texts (see `projector`).
// Each figure is also handed to `swarm bench` (bench/records.hpp): scenario "memory-write" (per
// path, raw RocksDB puts of the same bytes as its floor) and "recall" (per size and kind; the
// vector figures with brute force as their floor). Usage: bench_memory [--help].
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "bench/args.hpp"
#include "bench/records.hpp"
#include "memory/bm25.hpp"
#include "memory/bm25_index.hpp"
#include "memory/database.hpp"
#include "memory/long_term.hpp"
#include "memory/long_term_actor.hpp"
#include "memory/vector_index.hpp"
#include "memory/working.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;
using swarm::bench::better;
using swarm::bench::record;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(std::ceil(p * static_cast<double>(xs.size()))) - 1;
  return xs[std::min(i, xs.size() - 1)];
}

/// Words drawn from a Zipfian distribution over a synthetic vocabulary of pronounceable words.
class corpus {
public:
  explicit corpus(uint64_t seed, size_t vocabulary = 50'000, double s = 1.07) : rng_(seed) {
    static const char* syllables[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da",
                                      "zu", "fe", "gi", "ho", "ju", "ba", "cy", "wo", "xe", "qu"};
    for (size_t i = 0; i < vocabulary; ++i) {
      std::string w;
      for (size_t x = i + 1; x > 0; x /= 20)
        w += syllables[x % 20];
      words_.push_back(w);
    }
    std::vector<double> weights(vocabulary);
    for (size_t r = 0; r < vocabulary; ++r)
      weights[r] = 1.0 / std::pow(static_cast<double>(r + 1), s);
    zipf_ = std::discrete_distribution<size_t>(weights.begin(), weights.end());
  }

  /// `lo`..`hi` word ranks (0 = most frequent).
  std::vector<size_t> ranks(size_t lo, size_t hi) {
    std::uniform_int_distribution<size_t> len(lo, hi);
    std::vector<size_t> out(len(rng_));
    for (auto& r : out)
      r = zipf_(rng_);
    return out;
  }

  size_t vocabulary() const { return words_.size(); }

  /// `lo`..`hi` words.
  std::string text(size_t lo, size_t hi) {
    std::uniform_int_distribution<size_t> len(lo, hi);
    std::string out;
    for (size_t i = 0, n = len(rng_); i < n; ++i) {
      if (i > 0)
        out.push_back(' ');
      out += words_[zipf_(rng_)];
    }
    return out;
  }

  std::mt19937_64& rng() { return rng_; }

private:
  std::mt19937_64 rng_;
  std::vector<std::string> words_;
  std::discrete_distribution<size_t> zipf_;
};

/// A fresh directory under the system temp dir, removed at the end.
struct scratch {
  fs::path path;
  explicit scratch(const std::string& name) {
    path = fs::temp_directory_path() / ("bench-memory-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// One top-10 recall of `query` through the long-term memory actor; returns the hit count.
size_t recall(caf::scoped_actor& self, const swarm::long_term_memory_actor& ltm,
              const std::string& query) {
  size_t hits = 0;
  self->request(ltm, std::chrono::minutes(10), swarm::ltm_recall{query, {}, 10})
      .receive([&](std::vector<swarm::ltm_hit>& h) { hits = h.size(); },
               [](caf::error& err) { std::fprintf(stderr, "%s\n", swarm::describe(err).c_str()); });
  return hits;
}

// -- (a) writes ---------------------------------------------------------------------------------

/// Sends `msgs` to `who` with at most `window` unanswered; returns writes/s.
template <class Handle, class Msg>
double pipelined(caf::actor_system& sys, const Handle& who, const std::vector<Msg>& msgs,
                 size_t window) {
  caf::scoped_actor self{sys};
  size_t failed = 0;
  auto t0 = clock_type::now();
  for (size_t i = 0; i < msgs.size(); i += window) {
    auto n = std::min(window, msgs.size() - i);
    for (size_t k = 0; k < n; ++k)
      self->send(who, msgs[i + k]);
    size_t got = 0;
    self->receive_for(got, n)([](swarm::wm_note&) {}, [](std::string&) {},
                              [&](caf::error&) { ++failed; });
  }
  auto secs = seconds_since(t0);
  if (failed > 0)
    std::fprintf(stderr, "warning: %zu writes failed\n", failed);
  return static_cast<double>(msgs.size()) / secs;
}

/// Raw RocksDB: one Put per write (same WAL settings as the memory database), returns puts/s.
double raw_puts(const fs::path& dir, const std::vector<std::pair<std::string, std::string>>& kvs) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(opts, dir.string(), &raw);
  if (!st.ok()) {
    std::fprintf(stderr, "raw rocksdb: %s\n", st.ToString().c_str());
    return 0;
  }
  std::unique_ptr<rocksdb::DB> db{raw};
  rocksdb::WriteOptions wo; // WAL on, no sync: as memory::database_options{} writes
  auto t0 = clock_type::now();
  for (const auto& [k, v] : kvs)
    db->Put(wo, k, v).PermitUncheckedError();
  return static_cast<double>(kvs.size()) / seconds_since(t0);
}

void bench_writes(caf::actor_system& sys, size_t writes, int rounds, size_t window) {
  std::printf("## (a) memory writes/s, %zu writes per round, %zu in flight, median of %d\n\n",
              writes, window, rounds);
  std::printf("| path | writes/s | raw RocksDB puts/s (same bytes) | ratio |\n|---|---|---|---|\n");
  corpus words{1};
  std::vector<double> wm_rate, ltm_rate, raw_wm_rate, raw_ltm_rate, catch_up_ms;
  for (int r = 0; r < rounds; ++r) {
    std::vector<swarm::wm_write> wm_msgs;
    std::vector<swarm::ltm_write> ltm_msgs;
    std::vector<std::pair<std::string, std::string>> wm_kvs, ltm_kvs;
    auto run = "run-" + std::to_string(r);
    for (size_t i = 0; i < writes; ++i) {
      auto text = words.text(20, 60);
      wm_msgs.push_back(swarm::wm_write{run, swarm::agent_id{"team", "a"}, "fact", text, 0.6, ""});
      ltm_msgs.push_back(swarm::ltm_write{"swarm:team", text, 0.5, "bench", ""});
      wm_kvs.emplace_back(run + '\0' + std::to_string(i), text);
      ltm_kvs.emplace_back("ltm-" + std::to_string(i), text);
    }
    {
      scratch dir{"writes"};
      auto db = swarm::memory::database::open(dir.path.string());
      if (!db) {
        std::fprintf(stderr, "%s\n", swarm::describe(db.error()).c_str());
        return;
      }
      auto wm = swarm::memory::spawn_working_memory(sys, *db);
      auto ltm = swarm::memory::spawn_long_term_memory(sys, *db);
      wm_rate.push_back(pipelined(sys, wm, wm_msgs, window));
      ltm_rate.push_back(pipelined(sys, ltm, ltm_msgs, window));
      // Long-term writes are indexed by the next recall: its latency is the indexing cost.
      auto t0 = clock_type::now();
      caf::scoped_actor self{sys};
      recall(self, ltm, ltm_msgs[0].text);
      catch_up_ms.push_back(seconds_since(t0) * 1e3);
      caf::anon_send_exit(wm, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(ltm, caf::exit_reason::user_shutdown);
    }
    {
      scratch dir{"raw"};
      raw_wm_rate.push_back(raw_puts(dir.path / "wm", wm_kvs));
      raw_ltm_rate.push_back(raw_puts(dir.path / "ltm", ltm_kvs));
    }
  }
  auto row = [](const char* name, double ours, double raw) {
    std::printf("| %s | %.0f | %.0f | %.0f %% |\n", name, ours, raw, 100.0 * ours / raw);
  };
  row("working memory (`wm_write`)", median(wm_rate), median(raw_wm_rate));
  row("long-term, BM25 (`ltm_write`)", median(ltm_rate), median(raw_ltm_rate));
  for (auto [path, ours, raw] : {std::tuple{"working", &wm_rate, &raw_wm_rate},
                                 std::tuple{"long-term", &ltm_rate, &raw_ltm_rate}})
    record({"memory-write",
            {{"path", path}},
            "writes_per_s",
            "writes/s",
            better::higher,
            median(*ours),
            {{"raw RocksDB", median(*raw)}}});
  std::printf("\nFirst recall after the %zu long-term writes of a round (it indexes them): %.1f ms "
              "(%.1f us per memory)\n\n",
              writes, median(catch_up_ms), median(catch_up_ms) * 1e3 / static_cast<double>(writes));
  std::fflush(stdout);
}

// -- (b) recall latency -----------------------------------------------------------------------

void bench_bm25(caf::actor_system& sys, const std::vector<size_t>& sizes, size_t queries) {
  std::printf(
      "## (b) BM25 recall top-10 through the long-term memory actor, %zu queries per size\n\n",
      queries);
  std::printf("| memories | fill s | open s | p50 ms | p99 ms | mean hits |\n"
              "|---|---|---|---|---|---|\n");
  scratch dir{"bm25"};
  auto db = swarm::memory::database::open(dir.path.string());
  if (!db) {
    std::fprintf(stderr, "%s\n", swarm::describe(db.error()).c_str());
    return;
  }
  corpus words{2};
  size_t have = 0;
  for (auto size : sizes) {
    auto t0 = clock_type::now();
    {
      swarm::memory::long_term_store store{*db};
      while (have < size) {
        std::vector<swarm::memory::memory_record> batch;
        for (size_t i = 0; i < 1000 && have < size; ++i, ++have)
          batch.push_back(swarm::memory::memory_record{"m" + std::to_string(have),
                                                       "swarm:team",
                                                       words.text(20, 60),
                                                       0.5,
                                                       static_cast<int64_t>(have),
                                                       {}});
        if (auto err = store.put(batch)) {
          std::fprintf(stderr, "%s\n", swarm::describe(err).c_str());
          return;
        }
      }
    }
    auto fill = seconds_since(t0);
    // Open: spawning the actor (it builds its BM25 index from the records) and a first recall.
    auto t_open = clock_type::now();
    auto ltm = swarm::memory::spawn_long_term_memory(sys, *db);
    caf::scoped_actor self{sys};
    recall(self, ltm, "warm");
    auto open = seconds_since(t_open);
    std::vector<double> lat;
    double hits = 0;
    for (size_t q = 0; q < queries; ++q) {
      auto text = words.text(2, 5);
      auto t1 = clock_type::now();
      hits += static_cast<double>(recall(self, ltm, text));
      lat.push_back(seconds_since(t1) * 1e3);
    }
    caf::anon_send_exit(ltm, caf::exit_reason::user_shutdown);
    std::printf("| %zu | %.1f | %.1f | %.2f | %.2f | %.1f |\n", size, fill, open,
                percentile(lat, 0.5), percentile(lat, 0.99), hits / static_cast<double>(queries));
    for (auto [metric, p] : {std::pair{"p50_ms", 0.5}, {"p99_ms", 0.99}})
      record({"recall",
              {{"memories", size}, {"kind", "bm25"}},
              metric,
              "ms",
              better::lower,
              percentile(lat, p),
              {}});
    std::fflush(stdout);
  }
  std::printf("\n");
}

/// The in-memory BM25 index alone (no actor, no RocksDB): top-k latency for k = 10 and 50 (the
/// actor asks for 50 candidates, see long_term_memory_options::candidates).
void bench_bm25_index(const std::vector<size_t>& sizes, size_t queries) {
  std::printf("## (b) BM25 index alone (`bm25_index::search`), %zu queries per size\n\n", queries);
  std::printf("| memories | build s | k | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n");
  corpus words{2};
  swarm::memory::bm25_index index;
  size_t have = 0;
  for (auto size : sizes) {
    auto t0 = clock_type::now();
    for (; have < size; ++have)
      index.add(swarm::memory::memory_record{
          "m" + std::to_string(have), "swarm:team", words.text(20, 60), 0.5, 0, {}});
    index.prepare_bounds();
    auto build = seconds_since(t0);
    std::vector<std::string> texts;
    for (size_t q = 0; q < queries; ++q)
      texts.push_back(words.text(2, 5));
    for (size_t k : {10, 50}) {
      std::vector<double> lat;
      for (const auto& text : texts) {
        auto t1 = clock_type::now();
        auto hits = index.search(text, k);
        lat.push_back(seconds_since(t1) * 1e3);
      }
      if (std::getenv("BENCH_SLOWEST") != nullptr) {
        std::vector<std::pair<double, std::string>> slow;
        for (size_t i = 0; i < texts.size(); ++i)
          slow.emplace_back(lat[i], texts[i]);
        std::sort(slow.rbegin(), slow.rend());
        for (size_t i = 0; i < 8 && i < slow.size(); ++i)
          std::fprintf(stderr, "slow k=%zu %.3f ms: %s\n", k, slow[i].first,
                       slow[i].second.c_str());
      }
      std::printf("| %zu | %.1f | %zu | %.3f | %.3f | %.3f |\n", size, build, k,
                  percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1.0));
    }
    std::fflush(stdout);
  }
  std::printf("\n");
}

/// Text-like vectors: each word has a fixed random direction; a memory's vector is the
/// normalised idf-weighted sum of its words' directions (a bag-of-words random projection), so
/// memories sharing words are near each other, as with real embeddings.
class projector {
public:
  projector(size_t vocabulary, size_t dim) : dim_(dim) {
    std::mt19937_64 rng{4};
    std::normal_distribution<float> gauss;
    directions_.resize(vocabulary * dim);
    for (auto& x : directions_)
      x = gauss(rng);
  }

  std::vector<float> operator()(const std::vector<size_t>& ranks) const {
    std::vector<float> v(dim_, 0.0f);
    for (auto r : ranks) {
      auto weight = static_cast<float>(std::log(2.0 + static_cast<double>(r))); // ~ idf
      for (size_t k = 0; k < dim_; ++k)
        v[k] += weight * directions_[r * dim_ + k];
    }
    return *swarm::memory::normalized(std::move(v));
  }

private:
  size_t dim_;
  std::vector<float> directions_;
};

/// The exact top 10 of `query` over `all` by inner product (the vectors are normalised): the
/// brute-force search the HNSW index is measured against.
std::vector<size_t> brute_force_top10(const std::vector<std::vector<float>>& all,
                                      const std::vector<float>& query) {
  std::vector<std::pair<double, size_t>> exact;
  exact.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    double d = 0;
    for (size_t k = 0; k < query.size(); ++k)
      d += static_cast<double>(all[i][k]) * query[k];
    exact.emplace_back(-d, i);
  }
  auto top = std::min<size_t>(10, exact.size());
  std::partial_sort(exact.begin(), exact.begin() + static_cast<std::ptrdiff_t>(top), exact.end());
  std::vector<size_t> out;
  for (size_t e = 0; e < top; ++e)
    out.push_back(exact[e].second);
  return out;
}

/// `exact` queries (the first ones) are also answered by brute force: recall@10 and the brute
/// force's own latency, the floor of the vector figures.
void bench_vectors(const std::vector<size_t>& sizes, size_t queries, size_t dim, size_t ef,
                   size_t exact) {
  swarm::memory::vector_index_options opts;
  opts.ef_search = ef;
  std::printf("## (b) vector recall top-10 in the HNSW index (dim %zu, M %zu, ef_construction %zu, "
              "ef %zu), %zu queries per size, the first %zu also by brute force\n\n",
              dim, opts.m, opts.ef_construction, opts.ef_search, queries, std::min(exact, queries));
  std::printf("| memories | build s | p50 ms | p99 ms | recall@10 vs brute force | brute force "
              "p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n");
  corpus words{3};
  projector project{words.vocabulary(), dim};
  swarm::memory::vector_index index{dim, opts};
  size_t have = 0;
  std::vector<std::vector<float>> all;
  for (auto size : sizes) {
    auto t0 = clock_type::now();
    while (have < size) {
      auto v = project(words.ranks(20, 60));
      if (auto err = index.add("v" + std::to_string(have), v)) {
        std::fprintf(stderr, "%s\n", swarm::describe(err).c_str());
        return;
      }
      all.push_back(std::move(v));
      ++have;
    }
    auto build = seconds_since(t0);
    std::vector<double> lat, brute_lat;
    double recall = 0;
    size_t checked = 0;
    for (size_t q = 0; q < queries; ++q) {
      auto query = project(words.ranks(2, 5));
      auto t1 = clock_type::now();
      auto hits = index.search(query, 10);
      lat.push_back(seconds_since(t1) * 1e3);
      if (!hits || q >= exact)
        continue;
      auto t2 = clock_type::now();
      auto truth = brute_force_top10(all, query);
      brute_lat.push_back(seconds_since(t2) * 1e3);
      size_t found = 0;
      for (auto e : truth)
        for (auto& h : *hits)
          found += h.id == "v" + std::to_string(e) ? 1 : 0;
      recall += static_cast<double>(found) / 10.0;
      ++checked;
    }
    auto recall_at_10 = checked > 0 ? recall / static_cast<double>(checked) : 0;
    std::printf("| %zu | %.1f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", size, build,
                percentile(lat, 0.5), percentile(lat, 0.99), recall_at_10,
                percentile(brute_lat, 0.5), percentile(brute_lat, 0.99));
    std::vector<swarm::bench::param> params{{"memories", size}, {"kind", "vector"}};
    for (auto [metric, p] : {std::pair{"p50_ms", 0.5}, {"p99_ms", 0.99}})
      record({"recall",
              params,
              metric,
              "ms",
              better::lower,
              percentile(lat, p),
              {{"brute force", percentile(brute_lat, p)}}});
    record({"recall",
            params,
            "recall_at_10",
            "",
            better::higher,
            recall_at_10,
            {{"brute force", 1.0}}});
    std::fflush(stdout);
  }
  std::printf("\n");
}

} // namespace

int main(int argc, char** argv) {
  size_t writes = 20'000;
  int rounds = 3;
  size_t window = 64;
  std::vector<size_t> sizes{10'000, 100'000, 1'000'000};
  std::vector<size_t> vector_sizes; // the --sizes when empty
  size_t queries = 1000;
  size_t exact = 20;
  size_t dim = 64;
  size_t ef = 128;
  bool do_writes = true, do_bm25 = true, do_vectors = true, do_index = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--writes" && i + 1 < argc)
      writes = std::stoul(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::stoi(argv[++i]);
    else if (a == "--window" && i + 1 < argc)
      window = std::max<size_t>(1, std::stoul(argv[++i]));
    else if (a == "--sizes" && i + 1 < argc)
      sizes = swarm::bench::parse_sizes(argv[++i]);
    else if (a == "--vector-sizes" && i + 1 < argc)
      vector_sizes = swarm::bench::parse_sizes(argv[++i]);
    else if (a == "--exact" && i + 1 < argc)
      exact = std::stoul(argv[++i]);
    else if (a == "--queries" && i + 1 < argc)
      queries = std::stoul(argv[++i]);
    else if (a == "--dim" && i + 1 < argc)
      dim = std::stoul(argv[++i]);
    else if (a == "--ef" && i + 1 < argc)
      ef = std::stoul(argv[++i]);
    else if (a == "--only" && i + 1 < argc) {
      // A comma list of parts: write (= writes), recall (= bm25 and vectors), bm25, vectors,
      // bm25-index.
      do_writes = do_bm25 = do_vectors = do_index = false;
      std::stringstream list{argv[++i]};
      bool known = true;
      for (std::string part; std::getline(list, part, ',');) {
        if (part == "write" || part == "writes")
          do_writes = true;
        else if (part == "recall")
          do_bm25 = do_vectors = true;
        else if (part == "bm25")
          do_bm25 = true;
        else if (part == "vectors")
          do_vectors = true;
        else if (part == "bm25-index")
          do_index = true;
        else
          known = false;
      }
      if (!known) {
        std::cerr << "bench_memory: unknown part in --only " << argv[i] << "\n";
        return 2;
      }
    } else {
      std::cerr << "usage: bench_memory [--writes 20000] [--rounds 3] [--window 64] "
                   "[--sizes 10000,100000,1000000] [--vector-sizes SIZES (default: --sizes)] "
                   "[--queries 1000] [--exact 20] [--dim 64] [--ef 128] "
                   "[--only write,recall,bm25,vectors,bm25-index (default write,bm25,vectors)]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  if (vector_sizes.empty())
    vector_sizes = sizes;
  caf::actor_system_config cfg;
  swarm::register_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  if (do_writes)
    bench_writes(sys, writes, rounds, window);
  if (do_bm25)
    bench_bm25(sys, sizes, queries);
  if (do_index)
    bench_bm25_index(sizes, queries);
  if (do_vectors)
    bench_vectors(vector_sizes, queries, dim, ef, exact);
  return 0;
}
