// Helpers of tests that run real programs in the sandbox (bubblewrap + seccomp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/sandbox.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

namespace swarm::test {

/// Fails the test, saying why, unless bubblewrap works here: sandbox tests never skip.
inline void require_sandbox() {
  auto err = actors::probe_sandbox();
  INFO("the sandbox tests need a working bubblewrap: " << describe(err));
  REQUIRE(!err);
}

/// A request to run `argv` in the workspace `ws`, with the default limits.
inline actors::sandbox_request sandbox_run(const temp_dir& ws, std::vector<std::string> argv) {
  actors::sandbox_request req;
  req.argv = std::move(argv);
  req.workspace = ws.path();
  return req;
}

} // namespace swarm::test
