// Helpers shared by the LLM client tests against the mock server (llm_client_*_test.cpp): a
// running mock, fast retry options, a one-message request and a synchronous chat call.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_client.hpp"
#include "tests/support/mock_server.hpp"

namespace swarm::llm_client_mock {

using namespace std::chrono_literals;
using net::llm_client;
using test::temp_dir;

/// A running mock with its script.
struct mock {
  temp_dir dir;
  std::unique_ptr<mock_llm::server> srv;

  explicit mock(const std::string& script, mock_llm::server_options opts = {})
      : srv(test::start_mock(dir, script, std::move(opts))) {}

  std::string url() const { return srv->url(); }
  mock_llm::stats stats() const { return srv->stats(); }
};

inline llm_client_options fast_options() {
  llm_client_options opts;
  opts.max_retries = 2;
  opts.backoff_base = 2ms;
  opts.backoff_max = 20ms;
  opts.connect_timeout = 2s;
  return opts;
}

inline chat_request make_request(const std::string& url, const std::string& user, uint64_t id = 1) {
  chat_request req;
  req.call_id = id;
  req.endpoint.url = url;
  req.model = "mock";
  req.messages.push_back({"user", user, "", "", {}});
  req.timeout = 10s;
  return req;
}

inline caf::expected<chat_result> chat_sync(llm_client& client, chat_request req,
                                            llm_client::delta_callback on_delta = {}) {
  std::promise<caf::expected<chat_result>> done;
  auto fut = done.get_future();
  client.chat(
      std::move(req), [&done](caf::expected<chat_result> res) { done.set_value(std::move(res)); },
      std::move(on_delta));
  if (fut.wait_for(15s) != std::future_status::ready)
    FAIL("no callback within 15 s");
  return fut.get();
}

} // namespace swarm::llm_client_mock
