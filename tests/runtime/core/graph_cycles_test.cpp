// Tests of the shared cycle search: what it reports, and that hostile graphs of 100,000 nodes
// neither recurse nor cost more than linear time.
#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/graph_cycles.hpp"
#include "tests/support/small_stack.hpp"

namespace {

using swarm::adjacency;
using swarm::found_cycle;

/// Every cycle reported, as node lists, with the closing edge.
struct report {
  std::vector<std::vector<size_t>> cycles;
  std::vector<std::pair<size_t, size_t>> closing; // from, edge
};

report cycles_of(const adjacency& next, std::vector<size_t> starts = {}) {
  report out;
  swarm::find_cycles(next, starts, [&](const found_cycle& c) {
    out.cycles.emplace_back(c.path.begin(), c.path.end());
    out.closing.emplace_back(c.from, c.edge);
    return true;
  });
  return out;
}

// 256 KiB: a recursive search would need a frame per node of a 100,000-node chain.
constexpr size_t small_stack = 256 * 1024;

} // namespace

TEST_CASE("a graph without cycles reports none and finishes every node after its successors") {
  adjacency next{{1, 2}, {2}, {}, {0}};
  std::vector<size_t> finished;
  bool any = false;
  swarm::find_cycles(
      next, {},
      [&](const found_cycle&) {
        any = true;
        return true;
      },
      [&](size_t n) { finished.push_back(n); });
  CHECK_FALSE(any);
  CHECK(finished == std::vector<size_t>{2, 1, 0, 3});
}

TEST_CASE("every back edge is reported with the path it closes") {
  // 0 -> 1 -> 2 -> 0, 2 -> 2 (self loop), 3 -> 1 (joins a visited part: no new cycle)
  auto found = cycles_of({{1}, {2}, {0, 2}, {1}});
  REQUIRE(found.cycles.size() == 2);
  CHECK(found.cycles[0] == std::vector<size_t>{0, 1, 2});
  CHECK(found.closing[0] == std::pair<size_t, size_t>{2, 0});
  CHECK(found.cycles[1] == std::vector<size_t>{2});
  CHECK(found.closing[1] == std::pair<size_t, size_t>{2, 1});
  // Starting elsewhere finds the cycle from there; out-of-range starts and targets are ignored.
  auto from_three = cycles_of({{1}, {2}, {0}, {1, 9}}, {3, 42});
  REQUIRE(from_three.cycles.size() == 1);
  CHECK(from_three.cycles[0] == std::vector<size_t>{1, 2, 0});
}

TEST_CASE("the search stops when the callback says so") {
  size_t calls = 0;
  swarm::find_cycles({{0}, {1}, {2}}, {}, [&](const found_cycle&) {
    ++calls;
    return false;
  });
  CHECK(calls == 1);
}

TEST_CASE("cycle text names the nodes and shortens long cycles in the middle") {
  std::vector<std::string_view> names{"a", "b", "c"};
  std::vector<size_t> path{0, 1, 2};
  CHECK(swarm::cycle_text(path, names) == "a -> b -> c -> a");
  std::vector<size_t> self{1};
  CHECK(swarm::cycle_text(self, names) == "b -> b");
  std::vector<std::string> many;
  std::vector<std::string_view> many_names;
  std::vector<size_t> long_path;
  for (size_t i = 0; i < 12; ++i)
    many.push_back("n" + std::to_string(i));
  for (size_t i = 0; i < 12; ++i) {
    many_names.push_back(many[i]);
    long_path.push_back(i);
  }
  CHECK(swarm::cycle_text(long_path, many_names) ==
        "n0 -> n1 -> n2 -> n3 -> n4 -> ... -> n10 -> n11 -> n0");
}

TEST_CASE("hostile graphs of 100,000 nodes are searched on a small stack in linear time") {
  constexpr size_t n = 100'000;
  adjacency chain(n);
  for (size_t i = 0; i + 1 < n; ++i)
    chain[i].push_back(i + 1);
  adjacency ring = chain;
  ring[n - 1].push_back(0);
  // Every node of a chain also points back at the first: 100,000 cycles, the longest 100,000
  // nodes long. Each report must cost O(1), not the length of its path.
  adjacency comb = chain;
  for (size_t i = 0; i < n; ++i)
    comb[i].push_back(0);
  size_t chain_cycles = 1, ring_length = 0, comb_cycles = 0, comb_longest = 0;
  auto start = std::chrono::steady_clock::now();
  swarm::test::run_on_small_stack(small_stack, [&] {
    chain_cycles = cycles_of(chain).cycles.size();
    swarm::find_cycles(ring, {}, [&](const found_cycle& c) {
      ring_length = c.path.size();
      return true;
    });
    swarm::find_cycles(comb, {}, [&](const found_cycle& c) {
      ++comb_cycles;
      comb_longest = std::max(comb_longest, c.path.size());
      return true;
    });
  });
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(chain_cycles == 0);
  CHECK(ring_length == n);
  CHECK(comb_cycles == n);
  CHECK(comb_longest == n);
  CHECK(elapsed < std::chrono::seconds(10)); // quadratic work would take minutes
}
