// Fuzz target: the API's reading of a request, as `swarm serve` reads one. The bytes go to a
// Beast request parser under the server's limits (requests one after another, as on a kept-alive
// connection); each request read whole becomes the handler's net::http_request, whose query
// values, path segments, Authorization, Last-Event-ID and body go through the readers the routes
// use. Invariants: percent-decoding never grows a text; a count or approval id read back from
// its text reads the same; a bearer token is a trimmed part of its header; a token file's tokens
// each match themselves; the header lookup finds the first header of a name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "net/detail/http_request_parse.hpp"
#include "net/http_server.hpp"
#include "runtime/core/errc.hpp"
#include "serve/api_json.hpp"
#include "serve/auth.hpp"
#include "serve/openai_facade.hpp"

namespace {

using swarm::net::http_request;

// The path's segments as the router splits them (serve/api_server.cpp): empty ones dropped.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return out;
}

void check(bool ok) {
  if (!ok)
    std::abort();
}

void check_decode(std::string_view s) {
  check(swarm::net::percent_decode(s, false).size() <= s.size());
  check(swarm::net::percent_decode(s, true).size() <= s.size());
}

void check_count(std::string_view s) {
  auto n = swarm::serve::parse_count(s);
  if (!n)
    return;
  auto text = std::to_string(*n);
  check(swarm::serve::parse_count(text) == n);
  // Only leading zeros may differ between the text read and the number written back.
  auto digits = s.find_first_not_of('0');
  check(digits == std::string_view::npos ? *n == 0 : s.substr(digits) == text);
}

void check_approval_id(std::string_view id) {
  auto a = swarm::serve::parse_approval_id(id);
  if (!a)
    return;
  check(!a->first.empty());
  auto again = swarm::serve::parse_approval_id(a->first + ":" + std::to_string(a->second));
  check(again && *again == *a);
}

void check_bearer(std::string_view authorization) {
  auto t = swarm::serve::bearer_token(authorization);
  if (t.empty())
    return;
  check(t.data() >= authorization.data() &&
        t.data() + t.size() <= authorization.data() + authorization.size());
  check(t.front() != ' ' && t.back() != ' ' && t.front() != '\t' && t.back() != '\t');
}

void check_tokens(std::string_view text) {
  auto tokens = swarm::serve::parse_tokens(text, "fuzz");
  if (!tokens) {
    // The error names the file, never a secret.
    check(swarm::describe(tokens.error()).find("fuzz") != std::string::npos);
    return;
  }
  check(!tokens->empty());
  for (const auto& t : *tokens) {
    check(t.secret.size() >= 16 && t.secret.size() <= 512);
    const auto* m = swarm::serve::match_token(*tokens, t.secret);
    check(m != nullptr && m->secret == t.secret);
    const auto* longer = swarm::serve::match_token(*tokens, t.secret + "x");
    check(longer == nullptr || longer->secret == t.secret + "x");
  }
}

void exercise(const http_request& r) {
  check(r.path.size() <= r.target.size());
  check(r.query.size() < r.target.size() || r.query.empty());
  check_decode(r.target);
  for (size_t i = 0; i < r.headers.size(); ++i) {
    const auto& name = r.headers[i].first;
    for (char c : name)
      check(!(c >= 'A' && c <= 'Z'));
    size_t first = 0;
    while (r.headers[first].first != name)
      ++first;
    check(r.header(name).data() == r.headers[first].second.data());
  }
  // Every query value a route reads.
  for (std::string_view name :
       {"stream", "token", "replace", "force", "swarm", "status", "after", "limit"}) {
    auto v = r.param(name);
    check(v.size() <= r.query.size());
  }
  check_count(r.param("after"));
  check_count(r.param("limit"));
  check_count(r.header("last-event-id"));
  check_bearer(r.header("authorization"));

  auto parts = segments(r.path);
  size_t total = 0;
  for (const auto& p : parts) {
    check(!p.empty() && p.find('/') == std::string_view::npos);
    total += p.size();
  }
  check(total <= r.path.size());
  if (!parts.empty())
    check_approval_id(parts.back());

  if (auto o = swarm::serve::parse_object(r.body)) {
    for (std::string_view key : {"swarm", "task", "run_id", "reason", "model"})
      (void)swarm::serve::string_field(*o, key);
    for (std::string_view key : {"wait", "approve", "stream"})
      (void)swarm::serve::bool_field(*o, key);
  } else {
    check(!swarm::describe(o.error()).empty());
  }
  if (auto chat = swarm::serve::parse_chat_request(r.body))
    check(!chat->model.empty());
  else
    check(!swarm::describe(chat.error()).empty());
  check_tokens(r.body);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  const swarm::net::http_server_options limits; // the server's defaults
  // The API reads are small: a smaller body limit, chosen by the input's length, reaches the
  // 413 path too without inputs of megabytes.
  swarm::net::http_server_options small = limits;
  small.max_body = 64;
  small.max_header = 512;
  const auto& opts = size % 3 == 0 ? small : limits;
  for (int n = 0; n < 4 && !in.empty(); ++n) { // requests one after another on one connection
    swarm::net::detail::beast_request_parser parser;
    swarm::net::detail::apply_limits(parser, opts);
    parser.eager(true);
    boost::system::error_code ec;
    size_t used = 0;
    while (!parser.is_done() && used < in.size()) {
      auto k = parser.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
      used += k;
      if (ec || k == 0)
        break;
    }
    // Short of a whole request the server waits for more (or times out); on an error (413, 431,
    // no HTTP) it answers or closes: nothing reaches a handler.
    if (ec || !parser.is_done())
      return 0;
    check(used <= in.size());
    auto req = parser.release();
    check(req.body().size() <= opts.max_body);
    auto r = swarm::net::detail::to_http_request(req, "127.0.0.1");
    exercise(r);
    in.remove_prefix(used);
  }
  return 0;
}
