// The HTTP API of a runtime (`swarm serve`): swarms, runs, their event streams, approvals, the
// OpenAI-compatible facade, metrics and the dashboard, over net::http_server. docs/api.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "net/http_server.hpp"
#include "runtime/core/spec.hpp"
#include "serve/auth.hpp"

namespace swarm {
class runtime;
} // namespace swarm

namespace swarm::serve {

/// Per server.
struct api_options {
  /// Where and how to listen (host, port, limits, timeouts).
  net::http_server_options http;
  /// The tokens a client may present (`Authorization: Bearer`); non-empty: every route but the
  /// dashboard's files needs one. Must be non-empty when `http.host` is not a loopback
  /// address. Default: none.
  std::vector<api_token> tokens;
  /// Directory where the specs of swarms created through the API are kept, one file each, so
  /// that a restarted server has them again; empty: they are not kept. Default: empty
  /// (`swarm serve`: `<data_dir>/swarms`).
  std::string spec_dir;
  /// Runs going at once; a POST beyond it is answered 429. Default: 1,000.
  size_t max_live_runs = 1000;
  /// Where to send traces of the runs (OTLP/HTTP JSON, e.g. http://127.0.0.1:4318/v1/traces);
  /// empty: no trace leaves the server. Default: empty.
  std::string otlp_url;
};

/// One route of the API: its method and path template (`/v1/runs/{id}`).
struct route_info {
  std::string method;
  std::string path;
};

/// Every route the API answers, in the order it matches them.
const std::vector<route_info>& routes();

/// The API's OpenAPI 3.1 document (JSON).
std::string_view openapi_document();

/// A running API server over a runtime that outlives it.
class api_server {
public:
  /// Starts serving `rt`, and the swarms kept in options::spec_dir. Errors: invalid_argument
  /// (a host beyond loopback without tokens, an otlp_url that is not http://), those of
  /// net::http_server::start, and a kept spec that no longer loads (naming its file).
  [[nodiscard]] static caf::expected<std::unique_ptr<api_server>> start(runtime& rt,
                                                                        api_options opts);
  ~api_server();
  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  /// The port it listens on.
  uint16_t port() const;

  /// Starts the swarm of `spec` and serves it by its name; `keep`: its spec is kept in
  /// options::spec_dir. errc::run_exists if a swarm of that name is served and not `replace`
  /// (a replaced swarm's runs going on are interrupted); the runtime's spawn errors.
  [[nodiscard]] caf::error add_swarm(const swarm_spec& spec, bool replace, bool keep);

  /// Resumes, each as a run of this server, the journal's runs that were running or
  /// interrupted (a server stopped or killed while they ran); returns how many.
  size_t resume_interrupted();

  /// Stops serving: no new request, every connection and event stream closed. Runs going on go
  /// on in the runtime; runtime::stop interrupts them (the journal keeps them to resume).
  void stop();

  /// Waits until every run this server started has ended, or `timeout` passed; false then.
  bool wait_for_runs(std::chrono::milliseconds timeout);

  struct impl;

private:
  explicit api_server(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

} // namespace swarm::serve
