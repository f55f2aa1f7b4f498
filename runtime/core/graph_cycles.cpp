// Depth-first cycle search with an explicit stack (a hostile spec may chain 100,000 nodes).
#include "runtime/core/graph_cycles.hpp"

#include "runtime/core/located.hpp"

namespace swarm {

void find_cycles(const adjacency& next, std::span<const size_t> starts,
                 const std::function<bool(const found_cycle&)>& on_cycle,
                 const std::function<void(size_t)>& on_finished) {
  constexpr size_t not_on_path = static_cast<size_t>(-1);
  enum : unsigned char { unseen, on_path, done };
  std::vector<unsigned char> state(next.size(), unseen);
  std::vector<size_t> position(next.size(), not_on_path); // index in `path` while on it
  std::vector<size_t> path;                               // the nodes of the current descent
  std::vector<size_t> edges;                              // next edge to follow, per path entry
  auto search_from = [&](size_t start) {
    if (start >= next.size() || state[start] != unseen)
      return true;
    state[start] = on_path;
    position[start] = 0;
    path.assign(1, start);
    edges.assign(1, 0);
    while (!path.empty()) {
      auto node = path.back();
      auto edge = edges.back();
      if (edge == next[node].size()) {
        state[node] = done;
        position[node] = not_on_path;
        path.pop_back();
        edges.pop_back();
        if (on_finished)
          on_finished(node);
        continue;
      }
      ++edges.back();
      auto to = next[node][edge];
      if (to >= next.size())
        continue;
      if (state[to] == unseen) {
        state[to] = on_path;
        position[to] = path.size();
        path.push_back(to);
        edges.push_back(0);
      } else if (state[to] == on_path) {
        auto first = position[to];
        found_cycle cycle{std::span<const size_t>{path}.subspan(first), node, edge};
        if (!on_cycle(cycle))
          return false;
      }
    }
    return true;
  };
  if (starts.empty()) {
    for (size_t n = 0; n < next.size(); ++n)
      if (!search_from(n))
        return;
    return;
  }
  for (auto start : starts)
    if (!search_from(start))
      return;
}

std::string cycle_text(std::span<const size_t> path, std::span<const std::string_view> names) {
  constexpr size_t head = 5;
  constexpr size_t tail = 3;
  // The cycle closes on its first node: path + path[0].
  auto count = path.size() + 1;
  auto name = [&](size_t i) { return excerpt(names[path[i % path.size()]]); };
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (count > head + tail + 1 && i >= head && i < count - tail) {
      if (i == head) {
        out += " -> ...";
        i = count - tail - 1;
      }
      continue;
    }
    if (i > 0)
      out += " -> ";
    out += name(i);
  }
  return out;
}

} // namespace swarm
