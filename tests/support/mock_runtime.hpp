// A runtime test's setup: a fresh directory, the in-process mock LLM running a script, and the
// options and LLM overrides of a runtime that talks to it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/mock_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace swarm::test {

struct mock_runtime {
  temp_dir dir;
  std::unique_ptr<mock_llm::server> mock;

  /// Starts the mock with `script` (docs/mock-llm.md).
  explicit mock_runtime(const std::string& script, mock_llm::server_options opts = {})
      : mock(start_mock(dir, script, std::move(opts))) {}

  /// The runtime's data directory (created by the runtime).
  std::filesystem::path data() const { return dir.path() / "state"; }

  /// Two scheduler threads, retries after 1-5 ms, and data() as the data directory (none
  /// without `with_data`).
  runtime_options options(bool with_data = true) const {
    runtime_options opts;
    if (with_data)
      opts.data_dir = data().string();
    opts.scheduler_threads = 2;
    opts.llm.backoff_base = std::chrono::milliseconds(1);
    opts.llm.backoff_max = std::chrono::milliseconds(5);
    return opts;
  }

  /// Every agent's endpoint is the mock, its model "mock".
  llm_overrides overrides() const { return {mock->url(), "mock"}; }

  /// Spawns the spec `text` (which must load) in `rt`.
  caf::expected<swarm_handle> spawn(runtime& rt, const std::string& text,
                                    std::string_view source = "<spec>") const {
    auto spec = load_spec_text(text, source);
    REQUIRE(spec);
    return rt.spawn(*spec);
  }
};

} // namespace swarm::test
