// Tests of the HNSW vector index: normalisation, nearest neighbours, replacement, deletion,
// filtered search, bad input, and saving/loading with the generation check.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "memory/vector_index.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::memory;

namespace {

std::vector<float> random_vector(std::mt19937& rng, size_t dim) {
  std::normal_distribution<float> dist;
  std::vector<float> v(dim);
  for (auto& x : v)
    x = dist(rng);
  return v;
}

/// The id of the exact nearest neighbour of `q` among `vs` (brute force, cosine).
size_t brute_nearest(const std::vector<std::vector<float>>& vs, const std::vector<float>& q) {
  size_t best = 0;
  double best_sim = -2;
  auto nq = *normalized(q);
  for (size_t i = 0; i < vs.size(); ++i) {
    auto nv = *normalized(vs[i]);
    double sim = 0;
    for (size_t k = 0; k < nq.size(); ++k)
      sim += static_cast<double>(nq[k]) * nv[k];
    if (sim > best_sim) {
      best_sim = sim;
      best = i;
    }
  }
  return best;
}

} // namespace

TEST_CASE("normalized scales to unit length and refuses empty, zero and non-finite vectors") {
  auto v = normalized({3, 4});
  REQUIRE(v);
  CHECK((*v)[0] == Approx(0.6));
  CHECK((*v)[1] == Approx(0.8));
  CHECK(is(normalized({}).error(), errc::invalid_argument));
  CHECK(is(normalized({0, 0}).error(), errc::invalid_argument));
  CHECK(is(normalized({1, NAN}).error(), errc::invalid_argument));
  CHECK(is(normalized({1, INFINITY}).error(), errc::invalid_argument));
}

TEST_CASE("a vector survives encode_vector and decode_vector; malformed bytes do not decode") {
  std::vector<float> v{1.5f, -2.25f, 0.0f, 1e-7f};
  auto bytes = encode_vector(v);
  CHECK(bytes.size() == 4 + 4 * v.size());
  CHECK(decode_vector(bytes) == v);
  CHECK_FALSE(decode_vector(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(decode_vector(bytes + "x"));
  CHECK_FALSE(decode_vector(""));
}

TEST_CASE("the index finds the exact vector first with similarity 1") {
  vector_index index;
  std::mt19937 rng{1};
  std::vector<std::vector<float>> vs;
  for (int i = 0; i < 200; ++i) {
    vs.push_back(random_vector(rng, 32));
    REQUIRE_FALSE(index.add("m" + std::to_string(i), vs.back()));
  }
  CHECK(index.dim() == 32);
  CHECK(index.size() == 200);
  for (int i : {0, 57, 199}) {
    auto hits = index.search(vs[static_cast<size_t>(i)], 3);
    REQUIRE(hits);
    REQUIRE(hits->size() == 3);
    CHECK((*hits)[0].id == "m" + std::to_string(i));
    CHECK((*hits)[0].similarity == Approx(1.0).margin(1e-5));
    CHECK((*hits)[0].similarity >= (*hits)[1].similarity);
    CHECK((*hits)[1].similarity >= (*hits)[2].similarity);
  }
}

TEST_CASE("the index agrees with brute force on the nearest neighbour of random queries") {
  vector_index index;
  std::mt19937 rng{2};
  std::vector<std::vector<float>> vs;
  for (int i = 0; i < 500; ++i) {
    vs.push_back(random_vector(rng, 16));
    REQUIRE_FALSE(index.add(std::to_string(i), vs.back()));
  }
  int agree = 0;
  for (int q = 0; q < 50; ++q) {
    auto query = random_vector(rng, 16);
    auto hits = index.search(query, 1);
    REQUIRE(hits);
    REQUIRE(hits->size() == 1);
    agree += (*hits)[0].id == std::to_string(brute_nearest(vs, query)) ? 1 : 0;
  }
  CHECK(agree >= 48); // HNSW is approximate; at this size and ef it is nearly always exact
}

TEST_CASE("adding an id again replaces its vector instead of adding one") {
  vector_index index;
  REQUIRE_FALSE(index.add("a", {1, 0, 0}));
  REQUIRE_FALSE(index.add("b", {0, 1, 0}));
  REQUIRE_FALSE(index.add("a", {0, 0, 1}));
  CHECK(index.size() == 2);
  auto hits = index.search({0, 0, 1}, 1);
  REQUIRE(hits);
  CHECK((*hits)[0].id == "a");
  CHECK((*hits)[0].similarity == Approx(1.0).margin(1e-6));
}

TEST_CASE("removed vectors are not found; adding them back revives them") {
  vector_index index;
  REQUIRE_FALSE(index.add("a", {1, 0}));
  REQUIRE_FALSE(index.add("b", {0.9f, 0.1f}));
  CHECK(index.remove("a"));
  CHECK_FALSE(index.remove("a"));
  CHECK_FALSE(index.remove("never"));
  CHECK_FALSE(index.contains("a"));
  CHECK(index.size() == 1);
  auto hits = index.search({1, 0}, 5);
  REQUIRE(hits);
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == "b");
  REQUIRE_FALSE(index.add("a", {1, 0}));
  CHECK(index.contains("a"));
  hits = index.search({1, 0}, 5);
  REQUIRE(hits);
  REQUIRE(hits->size() == 2);
  CHECK((*hits)[0].id == "a");
}

TEST_CASE("a filtered search widens until it has k accepted hits") {
  vector_index index;
  std::mt19937 rng{3};
  for (int i = 0; i < 300; ++i)
    REQUIRE_FALSE(
        index.add((i % 30 == 0 ? "keep" : "drop") + std::to_string(i), random_vector(rng, 8)));
  auto hits = index.search(random_vector(rng, 8), 5,
                           [](const std::string& id) { return id.rfind("keep", 0) == 0; });
  REQUIRE(hits);
  CHECK(hits->size() == 5);
  for (auto& h : *hits)
    CHECK(h.id.rfind("keep", 0) == 0);
  auto none = index.search(random_vector(rng, 8), 5, [](const std::string&) { return false; });
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("the index refuses bad vectors and queries with a clear error") {
  vector_index index;
  CHECK(is(index.add("", {1, 0}), errc::invalid_argument));
  CHECK(is(index.add("z", {0, 0}), errc::invalid_argument));
  REQUIRE_FALSE(index.add("a", {1, 0}));
  auto err = index.add("b", {1, 0, 0});
  CHECK(is(err, errc::invalid_argument));
  CHECK_THAT(describe(err), Catch::Contains("'b' has 3 dimensions, the index 2"));
  auto q = index.search({1, 0, 0}, 1);
  REQUIRE_FALSE(q);
  CHECK_THAT(describe(q.error()), Catch::Contains("query has 3 dimensions"));
  CHECK_FALSE(index.search({0, 0}, 1));
}

TEST_CASE("an empty index answers every query with no hit") {
  vector_index index;
  auto hits = index.search({1, 2, 3}, 10);
  REQUIRE(hits);
  CHECK(hits->empty());
}

TEST_CASE("a saved index loads back at the same generation with its deletions") {
  test::temp_dir dir;
  auto path = (dir.path() / "vectors.hnsw").string();
  std::mt19937 rng{4};
  std::vector<std::vector<float>> vs;
  {
    vector_index index{0, vector_index_options{.initial_capacity = 4}}; // forces resizes
    for (int i = 0; i < 100; ++i) {
      vs.push_back(random_vector(rng, 12));
      REQUIRE_FALSE(index.add("v" + std::to_string(i), vs.back()));
    }
    REQUIRE(index.remove("v7"));
    REQUIRE_FALSE(index.save(path, 42));
  }
  auto loaded = vector_index::load(path, 42);
  REQUIRE(loaded);
  REQUIRE(*loaded);
  auto& index = **loaded;
  CHECK(index.dim() == 12);
  CHECK(index.size() == 99);
  CHECK_FALSE(index.contains("v7"));
  auto hits = index.search(vs[13], 1);
  REQUIRE(hits);
  CHECK((*hits)[0].id == "v13");
  hits = index.search(vs[7], 100);
  REQUIRE(hits);
  for (auto& h : *hits)
    CHECK(h.id != "v7");
  // It keeps working after loading: new ids, more room.
  REQUIRE_FALSE(index.add("new", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(index.size() == 100);
}

TEST_CASE("a saved index is not loaded at another generation, without its files, or damaged") {
  test::temp_dir dir;
  auto path = (dir.path() / "vectors.hnsw").string();
  {
    vector_index index;
    REQUIRE_FALSE(index.add("a", {1, 2, 3}));
    REQUIRE_FALSE(index.save(path, 5));
  }
  auto stale = vector_index::load(path, 6);
  REQUIRE(stale);
  CHECK_FALSE(*stale);
  auto missing = vector_index::load((dir.path() / "nothing").string(), 5);
  REQUIRE(missing);
  CHECK_FALSE(*missing);
  // A truncated index file no longer matches the size the table recorded.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  auto damaged = vector_index::load(path, 5);
  REQUIRE(damaged);
  CHECK_FALSE(*damaged);
  // A table that is not ours.
  {
    vector_index index;
    REQUIRE_FALSE(index.add("a", {1, 2, 3}));
    REQUIRE_FALSE(index.save(path, 5));
  }
  std::ofstream{path + ".meta"} << "something else";
  auto foreign = vector_index::load(path, 5);
  REQUIRE(foreign);
  CHECK_FALSE(*foreign);
}

TEST_CASE("an index saved before any vector was added loads back empty") {
  test::temp_dir dir;
  auto path = (dir.path() / "vectors.hnsw").string();
  vector_index empty;
  REQUIRE_FALSE(empty.save(path, 0));
  auto loaded = vector_index::load(path, 0);
  REQUIRE(loaded);
  REQUIRE(*loaded);
  CHECK((*loaded)->size() == 0);
  CHECK((*loaded)->dim() == 0);
}
