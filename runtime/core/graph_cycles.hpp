// Cycles of a directed graph, found depth-first without recursion: the spec's sub-swarm
// references and graph edges, and the graph coordinator's layout, share this one search.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace swarm {

/// Adjacency lists: `next[n]` holds the nodes `n` has an edge to (indices into `next`).
using adjacency = std::vector<std::vector<size_t>>;

/// One back edge found by find_cycles: the edge `next[from][edge]` closes `cycle`.
struct found_cycle {
  /// The nodes around the cycle, from the edge's target to `from` (a self loop: one node). A view
  /// into the search's own stack, valid during the callback only.
  std::span<const size_t> path;
  size_t from = 0;
  size_t edge = 0; ///< index into next[from]
};

/// Searches `next` depth-first from each of `starts` in order (every node when `starts` is
/// empty), skipping nodes already visited. Calls `on_cycle` once per back edge, i.e. at least once
/// for every cycle; it returns false to stop the search. Calls `on_finished(n)` (if given) when
/// every node reachable from `n` is finished (post-order), except after a stop. The search keeps
/// its path in vectors on the heap: any graph size is safe, and each report costs O(1) besides the
/// callback.
void find_cycles(const adjacency& next, std::span<const size_t> starts,
                 const std::function<bool(const found_cycle&)>& on_cycle,
                 const std::function<void(size_t)>& on_finished = {});

/// "a -> b -> c -> a" for the cycle through `path` (names[i] names node i); a long cycle is
/// shortened in the middle ("a -> b -> c -> d -> e -> ... -> x -> y -> z -> a") and each name is
/// quoted as in messages (excerpt), so the text stays one readable line.
std::string cycle_text(std::span<const size_t> path, std::span<const std::string_view> names);

} // namespace swarm
