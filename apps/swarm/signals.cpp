// Stop signals for the CLI: SIGINT/SIGTERM are blocked everywhere and taken by sigwait.
#include <csignal>
#include <pthread.h>
#include <thread>

#include "apps/swarm/commands.hpp"

namespace swarm::cli {

namespace {

sigset_t stop_set(bool with_wakeup) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (with_wakeup)
    sigaddset(&set, SIGUSR1);
  return set;
}

} // namespace

void block_stop_signals() {
  auto set = stop_set(true);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
  auto set = stop_set(false);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

struct signal_watch::impl {
  std::thread thread;
};

signal_watch::signal_watch(std::function<void()> on_signal) : impl_(std::make_unique<impl>()) {
  impl_->thread = std::thread([fn = std::move(on_signal)] {
    auto set = stop_set(true);
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGUSR1)
      fn();
  });
}

signal_watch::~signal_watch() {
  // SIGUSR1 only wakes the watcher; if a stop signal already woke it, the thread has ended.
  pthread_kill(impl_->thread.native_handle(), SIGUSR1);
  impl_->thread.join();
}

} // namespace swarm::cli
