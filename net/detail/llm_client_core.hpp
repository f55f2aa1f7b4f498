// The LLM client's internals, shared by its three files: one call across its attempts, the
// connections to one endpoint, the connection interface, and the core that owns them all (I/O
// threads, pools, calls in flight). Private to net/; Asio but no Beast: only the connection file
// speaks HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/llm_client.hpp"
#include "net/llm_json.hpp"
#include "net/retry.hpp"
#include "net/sse.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::net::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using executor = asio::any_io_executor;
using std::chrono::milliseconds;

struct core;
struct pool;
struct call;

enum class call_kind : uint8_t { chat, embed };

/// One open (or opening) HTTP connection; lives in its pool's idle list or runs one call.
class connection : public std::enable_shared_from_this<connection> {
public:
  virtual ~connection() = default;
  virtual executor get_executor() = 0;
  /// Runs one attempt of `c` (on this connection's executor).
  virtual void run(std::shared_ptr<call> c, bool reused) = 0;
  /// Closes the socket if this connection is still running `c` (on this connection's executor).
  virtual void abort_if(const call* c) = 0;
  /// Closes the socket (on this connection's executor).
  virtual void close() = 0;
};

/// Streaming state of a chat call, reset per attempt.
struct stream_state {
  explicit stream_state(size_t max_line) : sse(max_line) {}

  sse_parser sse;
  stream_accumulator acc;
  bool saw_done = false;
};

/// One chat or embedding call, across its attempts.
struct call {
  explicit call(executor ex) : strand(ex), deadline_timer(ex), backoff_timer(ex) {}

  uint64_t id = 0;
  call_kind kind = call_kind::chat;
  bool stream = false;
  std::string body;          ///< request JSON, sent by every attempt
  std::string fallback_body; ///< the body without response_format, sent once after a 400
  std::string target;        ///< request path
  std::string api_key;
  std::string url; ///< for messages
  std::shared_ptr<pool> pl;
  /// Most connections of `pl` this call may have open: a new one only while fewer are open.
  size_t max_connections = 1;
  steady::time_point deadline;
  milliseconds timeout{0};
  std::atomic<uint32_t> attempts{0}; ///< read by the deadline timer on another strand
  uint32_t retries = 0;
  bool fresh_retry_used = false;
  bool delivered_delta = false;
  llm_client::chat_callback on_chat;
  llm_client::delta_callback on_delta;
  llm_client::embedding_callback on_embed;
  std::optional<stream_state> ss;

  executor strand; ///< runs the timers and the callback
  asio::steady_timer deadline_timer;
  asio::steady_timer backoff_timer;
  std::atomic<bool> finished{false}; ///< whoever flips it owns the completion

  std::mutex mu;
  /// Guarded by mu: the connection running an attempt. Weak: the session holds the call.
  std::weak_ptr<connection> conn;
};

/// Connections to one endpoint (scheme, host, port). Its bound is each call's: a call opens a
/// new connection only while fewer than its `max_connections` are open, else it takes an idle
/// one or queues for the next released.
struct pool {
  parsed_url url;
  std::string host_header;
  bool host_is_ip = false;
  std::mutex mu;
  size_t open = 0; ///< connections counted against the bound (idle, running or opening)
  std::vector<std::shared_ptr<connection>> idle;
  std::deque<std::shared_ptr<call>> waiting;
};

/// How an attempt ended when it did not produce a result.
struct attempt_failure {
  attempt_outcome outcome = attempt_outcome::truncated;
  int status = 0;
  std::optional<milliseconds> retry_after;
  errc code = errc::llm_invalid_response; ///< the call's error if not retried
  std::string text;
};

/// Everything the client owns; shared with its I/O threads so a client destroyed from its own
/// callback stays valid until that thread leaves. Defined in llm_client_core.cpp, but for
/// make_connection (llm_connection.cpp).
struct core : std::enable_shared_from_this<core> {
  explicit core(llm_client_options o);

  /// Starts the I/O threads (once, right after construction).
  void start_threads();
  /// An executor for one connection or call: a strand when several threads run the context.
  executor make_executor();
  /// The pool of `url`'s endpoint (scheme, host, port), made on first use.
  std::shared_ptr<pool> pool_for(const parsed_url& url);
  /// A new, unconnected connection to `pl`'s endpoint (TLS for https).
  std::shared_ptr<connection> make_connection(const std::shared_ptr<pool>& pl);

  /// Arms the call's deadline and asks for a connection (on the call's strand).
  void start_call(std::shared_ptr<call> c);
  /// Runs `c` on an idle connection or a new one (`prefer_new`: not an idle one, if the bound
  /// allows), else queues it on its pool.
  void acquire(const std::shared_ptr<call>& c, bool prefer_new);
  void start_on(std::shared_ptr<connection> conn, std::shared_ptr<call> c, bool reused);
  /// A connection's attempt ended: it goes to the next waiting call, or idle, or away. True if
  /// it was kept (the caller closes it otherwise).
  bool release(const std::shared_ptr<pool>& pl, const std::shared_ptr<connection>& conn,
               bool reusable);
  /// An attempt failed: retried (after a backoff) or the call fails.
  void attempt_failed(const std::shared_ptr<call>& c, attempt_failure f);
  /// Completes `c` with `err` unless it is finished; true if this did.
  bool fail(const std::shared_ptr<call>& c, caf::error err);
  void succeed_chat(const std::shared_ptr<call>& c, chat_result res);
  void succeed_embed(const std::shared_ptr<call>& c, embedding_result res);
  void unregister(const std::shared_ptr<call>& c);
  void call_done();
  /// Completes every pending call with llm_cancelled, closes idle connections and joins the
  /// threads (unless called from one of them). Idempotent.
  void stop();

  // Declared before the io_context: handlers it destroys may still touch them.
  llm_client_options opts;
  std::mutex mu; ///< guards pools, calls, threads
  std::condition_variable all_done;
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> attempts{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> cancelled{0};
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> live_connections{0};
  ssl::context tls_ctx;
  std::string tls_setup_error;

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::unordered_map<std::string, std::shared_ptr<pool>> pools;
  std::unordered_map<uint64_t, std::shared_ptr<call>> calls;
};

} // namespace swarm::net::detail
