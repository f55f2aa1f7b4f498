// Runs a function on a thread with a small stack: a test of code that must not recurse with its
// input (a hostile spec's graph) fails at once instead of depending on the default 8 MiB.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <pthread.h>
#include <stdexcept>

namespace swarm::test {

/// Runs `f` on a new thread whose stack is `bytes` long and waits for it; rethrows what `f`
/// threw. Catch2's assertions are not thread-safe: keep them out of `f`.
inline void run_on_small_stack(size_t bytes, const std::function<void()>& f) {
  struct context {
    const std::function<void()>* f;
    std::exception_ptr error;
  } ctx{&f, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, bytes);
  pthread_t thread;
  auto body = [](void* p) -> void* {
    auto* c = static_cast<context*>(p);
    try {
      (*c->f)();
    } catch (...) {
      c->error = std::current_exception();
    }
    return nullptr;
  };
  auto rc = pthread_create(&thread, &attr, body, &ctx);
  pthread_attr_destroy(&attr);
  if (rc != 0)
    throw std::runtime_error("pthread_create failed");
  pthread_join(thread, nullptr);
  if (ctx.error)
    std::rethrow_exception(ctx.error);
}

} // namespace swarm::test
