// The record/replay cassette (see cassette.hpp).
#include "net/cassette.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include <boost/json.hpp>

#include "net/llm_json.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace json = boost::json;

struct cassette::impl {
  std::string path;
  std::FILE* out = nullptr; // recording
  mutable std::mutex mtx;
  std::map<std::string, chat_result> replies; // guarded by mtx

  ~impl() {
    if (out != nullptr)
      std::fclose(out);
  }
};

cassette::cassette(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}

cassette::~cassette() = default;

caf::expected<std::shared_ptr<cassette>> cassette::create(const std::string& path) {
  auto st = std::make_unique<impl>();
  st->path = path;
  st->out = std::fopen(path.c_str(), "w");
  if (st->out == nullptr)
    return make_error(errc::io_error,
                      "cannot create recording " + path + ": " + std::strerror(errno));
  return std::make_shared<cassette>(std::move(st));
}

caf::expected<std::shared_ptr<cassette>> cassette::load(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::io_error,
                      "cannot read recording " + path + ": " + std::strerror(errno));
  auto st = std::make_unique<impl>();
  st->path = path;
  std::string line;
  size_t line_no = 0;
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument,
                      path + ":" + std::to_string(line_no) + ": not a recorded call: " + why);
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty())
      continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec)
      return bad("invalid JSON (" + ec.message() + ")");
    auto* obj = v.if_object();
    if (obj == nullptr)
      return bad("not a JSON object");
    auto* key = obj->if_contains("key");
    auto* response = obj->if_contains("response");
    if (key == nullptr || !key->is_string())
      return bad("no \"key\" string");
    if (response == nullptr || !response->is_object())
      return bad("no \"response\" object");
    auto reply = decode_chat_response(json::serialize(*response));
    if (!reply)
      return bad(swarm::describe(reply.error()));
    reply->use.calls = 1; // as the client counts a call it made
    st->replies[std::string{key->get_string()}] = std::move(*reply);
  }
  if (in.bad())
    return make_error(errc::io_error, "cannot read recording " + path);
  return std::make_shared<cassette>(std::move(st));
}

caf::expected<std::optional<chat_result>> cassette::find(const std::string& key) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->replies.find(key);
  if (i == impl_->replies.end())
    return std::optional<chat_result>{};
  return std::optional<chat_result>{i->second};
}

caf::error cassette::put(const std::string& key, const chat_request& req,
                         const chat_result& reply) {
  json::object line{
      {"key", key}, {"agent", req.agent.str()}, {"task_id", req.task_id}, {"step", req.step}};
  if (auto body = encode_chat_request(req))
    line["request"] = json::parse(*body);
  line["response"] = json::parse(encode_chat_response(reply));
  auto text = json::serialize(line);
  text.push_back('\n');
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->replies[key] = reply;
  if (impl_->out == nullptr)
    return {};
  if (std::fwrite(text.data(), 1, text.size(), impl_->out) != text.size() ||
      std::fflush(impl_->out) != 0) {
    auto code = errno == ENOSPC || errno == EDQUOT ? errc::storage_full : errc::io_error;
    return make_error(code, "cannot write recording " + impl_->path + ": " + std::strerror(errno));
  }
  return {};
}

std::string cassette::describe() const {
  return "recording " + impl_->path;
}

size_t cassette::size() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->replies.size();
}

} // namespace swarm::net
