// libcurl clients for the fanout floors: a multi handle with a bounded set of easy handles, each
// sent again as soon as its reply is in (keep-alive, HTTP/1.1, JSON parsed); and one easy handle
// for the latency of a single call.
#include "bench/curl_client.hpp"

#include <algorithm>
#include <curl/curl.h>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <boost/json.hpp>

namespace swarm::bench {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

size_t append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

/// The request headers: JSON, and no `Expect: 100-continue` round trip.
struct header_list {
  curl_slist* list = nullptr;
  header_list() {
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:");
  }
  ~header_list() { curl_slist_free_all(list); }
  header_list(const header_list&) = delete;
  header_list& operator=(const header_list&) = delete;
};

/// One easy handle with the encoded request it sends (curl reads it in place) and its reply.
struct request_slot {
  CURL* easy = nullptr;
  std::string request;
  std::string reply;
};

CURL* make_easy(const std::string& url, curl_slist* headers, request_slot& slot) {
  CURL* easy = curl_easy_init();
  if (easy == nullptr)
    throw std::runtime_error("curl_easy_init failed");
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &slot.reply);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &slot);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, 300L); // every request ends, answered or not
  return easy;
}

/// Encodes the body again for this request, as any client must, and hands it to the handle.
void prepare(request_slot& slot, const boost::json::value& body) {
  slot.request = boost::json::serialize(body);
  slot.reply.clear();
  curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, slot.request.c_str());
  curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(slot.request.size()));
}

/// True for a transfer that succeeded with 200 and a JSON object.
bool good_reply(CURL* easy, CURLcode code, const std::string& reply) {
  if (code != CURLE_OK)
    return false;
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  boost::system::error_code jec;
  auto v = boost::json::parse(reply, jec);
  return !jec && status == 200 && v.is_object();
}

std::string url_of(const std::string& host, uint16_t port, const std::string& target) {
  return "http://" + host + ":" + std::to_string(port) + target;
}

} // namespace

bare_outcome curl_fanout(const std::string& host, uint16_t port, const std::string& target,
                         const std::string& body, size_t n, size_t connections) {
  global_init();
  auto value = boost::json::parse(body);
  auto url = url_of(host, port, target);
  header_list headers;
  CURLM* multi = curl_multi_init();
  if (multi == nullptr)
    throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(connections));
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(connections));

  bare_outcome out;
  std::vector<request_slot> slots(std::min(n, connections));
  size_t started = 0;
  auto start = [&](request_slot& slot) {
    ++started;
    prepare(slot, value);
    curl_multi_add_handle(multi, slot.easy);
  };
  for (auto& slot : slots) {
    slot.easy = make_easy(url, headers.list, slot);
    start(slot);
  }
  // Each request ends within its CURLOPT_TIMEOUT, so the loop does too.
  while (out.ok + out.failed < n) {
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      out.failed = n - out.ok;
      break;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      char* slot_ptr = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot_ptr);
      auto& slot = *reinterpret_cast<request_slot*>(slot_ptr);
      curl_multi_remove_handle(multi, easy); // `msg` is gone from here on
      if (good_reply(easy, code, slot.reply))
        ++out.ok;
      else
        ++out.failed;
      if (started < n)
        start(slot);
    }
    if (out.ok + out.failed < n)
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  for (auto& slot : slots) {
    curl_multi_remove_handle(multi, slot.easy);
    curl_easy_cleanup(slot.easy);
  }
  curl_multi_cleanup(multi);
  return out;
}

struct curl_session::impl {
  std::string base; // http://host:port
  header_list headers;
  request_slot slot;
};

curl_session::curl_session(const std::string& host, uint16_t port) : impl_(new impl) {
  global_init();
  impl_->base = url_of(host, port, "");
  impl_->slot.easy = make_easy(impl_->base, impl_->headers.list, impl_->slot);
}

curl_session::~curl_session() {
  curl_easy_cleanup(impl_->slot.easy);
}

bool curl_session::call(const std::string& target, const std::string& body) {
  auto& slot = impl_->slot;
  // The target is the call's (curl copies the URL and keeps the connection when it is the same).
  curl_easy_setopt(slot.easy, CURLOPT_URL, (impl_->base + target).c_str());
  prepare(slot, boost::json::parse(body));
  return good_reply(slot.easy, curl_easy_perform(slot.easy), slot.reply);
}

} // namespace swarm::bench
