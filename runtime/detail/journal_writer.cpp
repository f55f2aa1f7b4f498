// The LLM broker's journal writer (see journal_writer.hpp).
#include "runtime/detail/journal_writer.hpp"

#include <utility>

namespace swarm::detail {

journal_writer::journal_writer(std::shared_ptr<call_store> store) : store_(std::move(store)) {}

journal_writer::~journal_writer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
    queue_.clear();
  }
  wake_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void journal_writer::put(std::string key, std::shared_ptr<const chat_request> req,
                         chat_result reply, done_callback done) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_.push_back(entry{std::move(key), std::move(req), std::move(reply), std::move(done)});
    if (!thread_.joinable())
      thread_ = std::thread{[this] { run(); }};
  }
  wake_.notify_one();
}

void journal_writer::run() {
  std::unique_lock<std::mutex> guard{mtx_};
  for (;;) {
    wake_.wait(guard, [this] { return stop_ || !queue_.empty(); });
    if (stop_)
      return;
    auto next = std::move(queue_.front());
    queue_.pop_front();
    guard.unlock();
    auto err = store_->put(next.key, *next.req, next.reply);
    next.req.reset();
    if (err)
      next.done(std::move(err));
    else
      next.done(std::move(next.reply));
    guard.lock();
  }
}

} // namespace swarm::detail
