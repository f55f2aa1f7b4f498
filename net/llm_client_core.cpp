// The LLM client's core: its I/O threads, a pool of keep-alive connections per endpoint
// (bounded by each call's max_connections), and a call's life on it: deadline, acquire and
// release of a connection, retries with jittered backoff, completion, cancellation and stop.
#include "net/detail/llm_client_core.hpp"

#include <algorithm>
#include <random>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "net/tls_client.hpp"

namespace swarm::net::detail {

namespace {

thread_local const core* tl_core = nullptr; ///< the client whose I/O thread this is

double unit_random() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(rng);
}

std::string ms_text(milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

} // namespace

core::core(llm_client_options o) : opts(std::move(o)), tls_ctx(ssl::context::tls_client) {
  if (opts.io_threads == 0)
    opts.io_threads = 1;
  if (opts.max_connections_per_endpoint == 0)
    opts.max_connections_per_endpoint = 1;
  if (opts.max_sse_line_bytes == 0)
    opts.max_sse_line_bytes = sse_parser::default_max_line;
  tls_setup_error = configure_tls_client(tls_ctx, opts.verify_tls, opts.ca_file);
}

void core::start_threads() {
  work.emplace(asio::make_work_guard(ioc));
  threads.reserve(opts.io_threads);
  for (size_t i = 0; i < opts.io_threads; ++i)
    threads.emplace_back([self = shared_from_this()] {
      tl_core = self.get();
      for (int guard = 0; guard < 1000; ++guard) {
        try {
          self->ioc.run();
          break;
        } catch (...) {
          // A user callback threw; keep serving the other calls.
        }
      }
      tl_core = nullptr;
    });
}

executor core::make_executor() {
  if (opts.io_threads > 1)
    return asio::make_strand(ioc);
  return ioc.get_executor(); // one thread is an implicit strand
}

std::shared_ptr<pool> core::pool_for(const parsed_url& url) {
  auto key = url.pool_key();
  std::lock_guard guard{mu};
  auto& p = pools[key];
  if (!p) {
    p = std::make_shared<pool>();
    p->url = url;
    p->host_header = url.host_header();
    error_code ec;
    asio::ip::make_address(url.host, ec);
    p->host_is_ip = !ec;
  }
  return p;
}

// -- the call's life: start, acquire, retry, finish --------------------------------------------

void core::start_call(std::shared_ptr<call> c) {
  asio::post(c->strand, [this, c] {
    if (c->finished.load())
      return;
    c->deadline_timer.expires_at(c->deadline);
    c->deadline_timer.async_wait([this, c](error_code ec) {
      if (!ec)
        fail(c, make_error(errc::llm_timeout,
                           "no reply from " + c->url + " within " + ms_text(c->timeout) +
                               " after " + std::to_string(c->attempts.load()) + " attempt(s)"));
    });
    acquire(c, false);
  });
}

void core::acquire(const std::shared_ptr<call>& c, bool prefer_new) {
  if (c->finished.load())
    return;
  auto& pl = c->pl;
  std::shared_ptr<connection> conn;
  bool reused = false;
  {
    std::lock_guard guard{pl->mu};
    if (!prefer_new && !pl->idle.empty()) {
      conn = std::move(pl->idle.back());
      pl->idle.pop_back();
      reused = true;
    } else if (pl->open < c->max_connections) {
      ++pl->open;
      conn = make_connection(pl);
    } else if (!pl->idle.empty()) {
      conn = std::move(pl->idle.back());
      pl->idle.pop_back();
      reused = true;
    } else {
      pl->waiting.push_back(c);
      return;
    }
  }
  start_on(std::move(conn), c, reused);
}

void core::start_on(std::shared_ptr<connection> conn, std::shared_ptr<call> c, bool reused) {
  {
    std::lock_guard guard{c->mu};
    c->conn = conn;
  }
  auto ex = conn->get_executor();
  asio::post(ex, [conn = std::move(conn), c = std::move(c), reused]() mutable {
    conn->run(std::move(c), reused);
  });
}

bool core::release(const std::shared_ptr<pool>& pl, const std::shared_ptr<connection>& conn,
                   bool reusable) {
  std::shared_ptr<call> next;
  std::shared_ptr<connection> handed;
  bool kept = false;
  {
    std::lock_guard guard{pl->mu};
    while (!pl->waiting.empty()) {
      auto w = std::move(pl->waiting.front());
      pl->waiting.pop_front();
      if (!w->finished.load()) {
        next = std::move(w);
        break;
      }
    }
    if (next) {
      // The slot passes to the next waiter: this connection, or a fresh one in its place.
      handed = reusable ? conn : make_connection(pl);
      kept = reusable;
    } else if (reusable && !stopped.load() && pl->idle.size() < opts.max_idle_per_endpoint) {
      pl->idle.push_back(conn);
      kept = true;
    } else {
      --pl->open;
    }
  }
  if (next)
    start_on(std::move(handed), std::move(next), kept);
  return kept;
}

void core::attempt_failed(const std::shared_ptr<call>& c, attempt_failure f) {
  if (c->finished.load())
    return;
  if (f.status == 400 && !c->fallback_body.empty()) { // response_format refused: once without
    c->body = std::exchange(c->fallback_body, std::string{});
    retries.fetch_add(1, std::memory_order_relaxed);
    asio::post(c->strand, [this, c] { acquire(c, false); });
    return;
  }
  if (should_retry(f.outcome, f.status) && c->retries < opts.max_retries) {
    auto delay = backoff_delay(c->retries, opts.backoff_base, opts.backoff_max, f.retry_after,
                               unit_random());
    if (steady::now() + delay < c->deadline) {
      ++c->retries;
      retries.fetch_add(1, std::memory_order_relaxed);
      c->fresh_retry_used = false;
      asio::post(c->strand, [this, c, delay] {
        if (c->finished.load())
          return;
        if (delay.count() <= 0) {
          acquire(c, false);
          return;
        }
        c->backoff_timer.expires_after(delay);
        c->backoff_timer.async_wait([this, c](error_code ec) {
          if (!ec)
            acquire(c, false);
        });
      });
      return;
    }
  }
  auto text = std::move(f.text);
  if (auto n = c->attempts.load(); n > 1)
    text += " (after " + std::to_string(n) + " attempts)";
  fail(c, make_error(f.code, std::move(text)));
}

void core::unregister(const std::shared_ptr<call>& c) {
  std::lock_guard guard{mu};
  if (auto i = calls.find(c->id); i != calls.end() && i->second == c)
    calls.erase(i);
}

void core::call_done() {
  if (in_flight.fetch_sub(1) == 1) {
    std::lock_guard guard{mu};
    all_done.notify_all();
  }
}

bool core::fail(const std::shared_ptr<call>& c, caf::error err) {
  if (c->finished.exchange(true))
    return false;
  unregister(c);
  std::shared_ptr<connection> conn;
  {
    std::lock_guard guard{c->mu};
    conn = c->conn.lock();
  }
  if (conn) {
    auto ex = conn->get_executor();
    asio::post(ex, [conn, c] { conn->abort_if(c.get()); });
  }
  asio::post(c->strand, [this, c, err = std::move(err)]() mutable {
    c->deadline_timer.cancel();
    c->backoff_timer.cancel();
    if (c->kind == call_kind::chat) {
      auto cb = std::move(c->on_chat);
      cb(std::move(err));
    } else {
      auto cb = std::move(c->on_embed);
      cb(std::move(err));
    }
    call_done();
  });
  return true;
}

void core::succeed_chat(const std::shared_ptr<call>& c, chat_result res) {
  unregister(c);
  res.call_id = c->id;
  res.attempts = c->attempts.load();
  res.use.calls = 1;
  asio::post(c->strand, [this, c, res = std::move(res)]() mutable {
    c->deadline_timer.cancel();
    c->backoff_timer.cancel();
    auto cb = std::move(c->on_chat);
    cb(std::move(res));
    call_done();
  });
}

void core::succeed_embed(const std::shared_ptr<call>& c, embedding_result res) {
  unregister(c);
  res.call_id = c->id;
  res.use.calls = 1;
  asio::post(c->strand, [this, c, res = std::move(res)]() mutable {
    c->deadline_timer.cancel();
    c->backoff_timer.cancel();
    auto cb = std::move(c->on_embed);
    cb(std::move(res));
    call_done();
  });
}

void core::stop() {
  std::unordered_map<uint64_t, std::shared_ptr<call>> pending;
  std::vector<std::shared_ptr<connection>> idle;
  {
    std::lock_guard guard{mu};
    stopped.store(true);
    pending.swap(calls);
    for (auto& [key, pl] : pools) {
      std::lock_guard pg{pl->mu};
      for (auto& conn : pl->idle)
        idle.push_back(std::move(conn));
      pl->open -= pl->idle.size();
      pl->idle.clear();
    }
  }
  for (auto& [id, c] : pending)
    if (fail(c, make_error(errc::llm_cancelled, "the LLM client stopped")))
      cancelled.fetch_add(1, std::memory_order_relaxed);
  for (auto& conn : idle) {
    auto ex = conn->get_executor();
    asio::post(ex, [conn = std::move(conn)] { conn->close(); });
  }
  idle.clear();
  std::unique_lock guard{mu};
  work.reset();
  if (tl_core == this)
    return; // called from a callback: the threads finish once the work runs out
  // Bounded: every pending callback was posted above and every connection was told to close;
  // waiting for them lets aborted operations unwind instead of being dropped.
  all_done.wait_for(guard, std::chrono::seconds(10),
                    [this] { return in_flight.load() == 0 && live_connections.load() == 0; });
  auto threads_to_join = std::move(threads);
  threads.clear();
  guard.unlock();
  ioc.stop();
  for (auto& t : threads_to_join)
    if (t.joinable())
      t.join();
}

} // namespace swarm::net::detail
