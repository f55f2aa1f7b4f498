// The in-process mock LLM (docs/mock-llm.md) on loopback, started for one test.
#pragma once

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

namespace swarm::test {

/// Starts the mock with `script` (written to `dir`/`file`; an empty script: none, default
/// replies) on top of `opts`; a mock that does not start fails the test, saying why.
inline std::unique_ptr<mock_llm::server> start_mock(const temp_dir& dir, const std::string& script,
                                                    mock_llm::server_options opts = {},
                                                    const std::string& file = "mock.yaml") {
  if (!script.empty())
    opts.script_path = dir.write(file, script);
  auto started = mock_llm::server::start(std::move(opts));
  INFO("the mock LLM did not start: " << (started ? std::string{} : describe(started.error())));
  REQUIRE(started);
  return std::move(*started);
}

} // namespace swarm::test
