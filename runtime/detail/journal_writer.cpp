// The LLM broker's journal writer (see journal_writer.hpp).
#include "runtime/detail/journal_writer.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

namespace swarm::detail {

namespace {

struct entry {
  std::string key;
  std::shared_ptr<const chat_request> req;
  chat_result reply;
  journal_writer::done_callback done;
};

} // namespace

// The thread holds this too: a `done` may destroy the writer (it may hold the last handle of
// the broker that owns it) while the thread still has entries to write.
struct journal_writer::shared {
  std::shared_ptr<call_store> store;
  std::mutex mtx;
  std::condition_variable wake;
  std::deque<entry> queue; // guarded by mtx
  bool stop = false;       // guarded by mtx
};

journal_writer::journal_writer(std::shared_ptr<call_store> store)
    : shared_(std::make_shared<shared>()) {
  shared_->store = std::move(store);
}

journal_writer::~journal_writer() {
  {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    shared_->stop = true;
  }
  shared_->wake.notify_one();
  if (!thread_.joinable())
    return;
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach(); // joining itself would throw; the thread drains and ends on its own
  else
    thread_.join();
}

call_store& journal_writer::store() const {
  return *shared_->store;
}

void journal_writer::put(std::string key, std::shared_ptr<const chat_request> req,
                         chat_result reply, done_callback done) {
  {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    shared_->queue.push_back(
        entry{std::move(key), std::move(req), std::move(reply), std::move(done)});
    if (!thread_.joinable())
      thread_ = std::thread{[sh = shared_] { run(sh); }};
  }
  shared_->wake.notify_one();
}

void journal_writer::run(const std::shared_ptr<shared>& sh) {
  std::unique_lock<std::mutex> guard{sh->mtx};
  for (;;) {
    sh->wake.wait(guard, [&] { return sh->stop || !sh->queue.empty(); });
    if (sh->queue.empty())
      return; // stopped and drained
    auto next = std::move(sh->queue.front());
    sh->queue.pop_front();
    auto stopping = sh->stop;
    guard.unlock();
    auto err = sh->store->put(next.key, *next.req, next.reply);
    next.req.reset();
    // Once stopping, nobody waits for the answer: the entry is only made durable.
    if (!stopping) {
      if (err)
        next.done(std::move(err));
      else
        next.done(std::move(next.reply));
    }
    next.done = nullptr; // what it captured goes before the lock is taken again
    guard.lock();
  }
}

} // namespace swarm::detail
