// Addresses are data: an agent is named by its swarm and its name, resolved by the directory.
#pragma once

#include <string>

#include <caf/meta/type_name.hpp>

namespace swarm {

/// Names one participant: `swarm` is the swarm it belongs to, `name` its name in that swarm.
struct agent_id {
  std::string swarm;
  std::string name;

  /// "swarm/name", or just "name" when the swarm is empty.
  std::string str() const { return swarm.empty() ? name : swarm + "/" + name; }

  friend bool operator==(const agent_id&, const agent_id&) = default;
};

template <class F>
typename F::result_type inspect(F& f, agent_id& x) {
  return f(caf::meta::type_name("agent_id"), x.swarm, x.name);
}

} // namespace swarm
