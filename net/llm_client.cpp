// The LLM client's facade: checks and encodes each chat or embedding request into a call on the
// client's core (net/detail/llm_client_core.hpp), and its cancel, stop and counters.
#include "net/llm_client.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>

#include "net/detail/llm_client_core.hpp"
#include "net/llm_json.hpp"
#include "net/structured_fallback.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace asio = boost::asio;
using detail::call;
using detail::call_kind;
using detail::core;
using detail::steady;
using std::chrono::milliseconds;

struct llm_client::impl {
  std::shared_ptr<core> co;
};

llm_client::llm_client(llm_client_options opts) : impl_(std::make_unique<impl>()) {
  impl_->co = std::make_shared<core>(std::move(opts));
  impl_->co->start_threads();
}

llm_client::~llm_client() {
  auto& co = *impl_->co;
  co.stop();
  // Destroyed from one of its own callbacks: that thread cannot join itself.
  std::lock_guard guard{co.mu};
  for (auto& t : co.threads)
    if (t.joinable())
      t.detach();
}

namespace {

/// Completes a call that never started, on an I/O thread unless the client is stopped.
template <class Callback>
void reject(core& co, Callback& done, caf::error err) {
  if (!done)
    return;
  if (co.stopped.load()) {
    done(std::move(err));
    return;
  }
  asio::post(co.ioc,
             [done = std::move(done), err = std::move(err)]() mutable { done(std::move(err)); });
}

bool bad_header_text(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

template <class Callback, class Encode>
std::shared_ptr<call> make_call(core& co, uint64_t id, call_kind kind, const llm_endpoint& ep,
                                caf::timespan timeout, std::string_view path, Callback& done,
                                Encode encode) {
  co.requests.fetch_add(1, std::memory_order_relaxed);
  if (co.stopped.load()) {
    reject(co, done, make_error(errc::llm_cancelled, "the LLM client is stopped"));
    return nullptr;
  }
  auto url = parse_url(ep.url);
  if (!url) {
    reject(co, done, url.error());
    return nullptr;
  }
  if (bad_header_text(ep.api_key)) {
    reject(co, done, make_error(errc::invalid_argument, "api_key holds a line break"));
    return nullptr;
  }
  auto body = encode();
  if (!body) {
    reject(co, done, body.error());
    return nullptr;
  }
  auto c = std::make_shared<call>(co.make_executor());
  c->id = id;
  c->kind = kind;
  c->body = std::move(*body);
  c->target = url->base_path;
  c->target += path;
  c->api_key = ep.api_key;
  c->url = ep.url;
  c->pl = co.pool_for(*url);
  // The endpoint's own bound (the spec's max_concurrent in a run), else the client's default.
  c->max_connections =
      ep.max_connections > 0 ? size_t{ep.max_connections} : co.opts.max_connections_per_endpoint;
  // Clamped so the deadline arithmetic cannot overflow.
  auto clamped = std::clamp(std::chrono::duration_cast<milliseconds>(timeout), milliseconds{0},
                            milliseconds{std::chrono::hours{24 * 365}});
  c->timeout = clamped;
  c->deadline = steady::now() + clamped;
  return c;
}

template <class Callback>
void register_and_start(core& co, std::shared_ptr<call> c, Callback& done) {
  {
    std::lock_guard guard{co.mu};
    if (!co.stopped.load()) {
      if (!co.calls.emplace(c->id, c).second) {
        auto err = make_error(errc::invalid_argument,
                              "call_id " + std::to_string(c->id) + " is already in flight");
        asio::post(co.ioc, [done = std::move(done), err = std::move(err)]() mutable {
          done(std::move(err));
        });
        return;
      }
      co.in_flight.fetch_add(1);
      co.start_call(std::move(c));
      return;
    }
  }
  reject(co, done, make_error(errc::llm_cancelled, "the LLM client is stopped"));
}

} // namespace

void llm_client::chat(chat_request req, chat_callback done, delta_callback on_delta) {
  auto& co = *impl_->co;
  if (!done)
    done = [](caf::expected<chat_result>) {};
  auto c = make_call(co, req.call_id, call_kind::chat, req.endpoint, req.timeout,
                     "/chat/completions", done, [&req] { return encode_chat_request(req); });
  if (!c)
    return;
  if (auto fallback = without_response_format(req)) // structured_fallback.hpp
    if (auto body = encode_chat_request(*fallback))
      c->fallback_body = std::move(*body);
  c->stream = req.stream;
  c->on_chat = std::move(done);
  c->on_delta = std::move(on_delta);
  auto& cb = c->on_chat;
  register_and_start(co, std::move(c), cb);
}

void llm_client::embed(embedding_request req, embedding_callback done) {
  auto& co = *impl_->co;
  if (!done)
    done = [](caf::expected<embedding_result>) {};
  auto c =
      make_call(co, req.call_id, call_kind::embed, req.endpoint, req.timeout, "/embeddings", done,
                [&req]() -> caf::expected<std::string> { return encode_embedding_request(req); });
  if (!c)
    return;
  c->on_embed = std::move(done);
  auto& cb = c->on_embed;
  register_and_start(co, std::move(c), cb);
}

void llm_client::cancel(uint64_t call_id) {
  auto& co = *impl_->co;
  std::shared_ptr<call> c;
  {
    std::lock_guard guard{co.mu};
    if (auto i = co.calls.find(call_id); i != co.calls.end())
      c = i->second;
  }
  if (c && co.fail(c, make_error(errc::llm_cancelled,
                                 "call " + std::to_string(call_id) + " was cancelled")))
    co.cancelled.fetch_add(1, std::memory_order_relaxed);
}

void llm_client::stop() {
  impl_->co->stop();
}

client_stats llm_client::stats() const {
  const auto& co = *impl_->co;
  client_stats out;
  out.requests = co.requests.load();
  out.attempts = co.attempts.load();
  out.retries = co.retries.load();
  out.cancelled = co.cancelled.load();
  out.connections_opened = co.connections_opened.load();
  out.in_flight = co.in_flight.load();
  return out;
}

} // namespace swarm::net
