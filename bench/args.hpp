// Small helpers shared by the benchmark programs' main functions.
#pragma once

#include <sstream>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace swarm::bench {

/// "10,100,1000" -> {10, 100, 1000}.
inline std::vector<size_t> parse_sizes(const std::string& text) {
  std::vector<size_t> out;
  std::stringstream ss{text};
  for (std::string x; std::getline(ss, x, ',');)
    out.push_back(std::stoul(x));
  return out;
}

/// Raises the open-file limit to its hard maximum: one connection per in-flight call, on both
/// ends of loopback.
inline void raise_fd_limit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

} // namespace swarm::bench
