// The OpenAI-compatible facade's formats.
#include "serve/openai_facade.hpp"

#include <chrono>

#include <boost/json.hpp>

#include "runtime/core/errc.hpp"
#include "serve/api_json.hpp"

namespace swarm::serve {

namespace json = boost::json;

namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error bad(std::string what) {
  return make_error(errc::invalid_argument, std::move(what));
}

// A message's content: a string, or the text of an array of parts.
caf::expected<std::string> content_text(const json::value& v, size_t index) {
  if (v.is_string())
    return std::string{v.as_string()};
  if (v.is_null())
    return std::string{};
  if (!v.is_array())
    return bad("messages[" + std::to_string(index) + "].content is neither a string nor parts");
  std::string out;
  for (const auto& part : v.as_array()) {
    const auto* o = part.if_object();
    const auto* type = o ? o->if_contains("type") : nullptr;
    const auto* text = o ? o->if_contains("text") : nullptr;
    if (!type || !type->is_string() || type->as_string() != "text" || !text || !text->is_string())
      return bad("messages[" + std::to_string(index) +
                 "].content has a part that is not {\"type\": \"text\", \"text\": ...}: a swarm "
                 "takes text only");
    if (!out.empty())
      out += '\n';
    out += text->as_string();
  }
  return out;
}

json::object usage_json(const usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens()}};
}

json::object chunk(const std::string& run_id, const std::string& model, json::object delta,
                   json::value finish) {
  return {{"id", "chatcmpl-" + run_id},
          {"object", "chat.completion.chunk"},
          {"created", now_s()},
          {"model", model},
          {"choices", json::array{json::object{
                          {"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}}}};
}

std::string sse(const json::value& v) {
  return "data: " + json::serialize(v) + "\n\n";
}

} // namespace

caf::expected<chat_task> parse_chat_request(std::string_view body) {
  auto parsed = parse_object(body);
  if (!parsed)
    return std::move(parsed.error());
  auto& o = *parsed;
  chat_task out;
  auto model = string_field(o, "model");
  if (!model || model->empty())
    return bad("\"model\" is required: the name of a swarm (GET /v1/models)");
  out.model = *model;
  if (const auto* s = o.if_contains("stream"); s && !s->is_null()) {
    if (!s->is_bool())
      return bad("\"stream\" is true or false");
    out.stream = s->as_bool();
  }
  if (const auto* so = o.if_contains("stream_options"); so && so->is_object())
    if (const auto* iu = so->as_object().if_contains("include_usage"); iu && iu->is_bool())
      out.include_usage = iu->as_bool();
  const auto* msgs = o.if_contains("messages");
  if (!msgs || !msgs->is_array() || msgs->as_array().empty())
    return bad("\"messages\" is required: a non-empty array of messages");
  std::vector<std::pair<std::string, std::string>> turns; // role, text
  size_t i = 0;
  for (const auto& m : msgs->as_array()) {
    const auto* mo = m.if_object();
    const auto* role = mo ? mo->if_contains("role") : nullptr;
    if (!role || !role->is_string())
      return bad("messages[" + std::to_string(i) + "] has no \"role\"");
    std::string r{role->as_string()};
    if (r != "system" && r != "developer" && r != "user" && r != "assistant" && r != "tool")
      return bad("messages[" + std::to_string(i) + "].role '" + r +
                 "' is none of system, "
                 "developer, user, "
                 "assistant, tool");
    const auto* content = mo->if_contains("content");
    auto text = content ? content_text(*content, i) : caf::expected<std::string>{std::string{}};
    if (!text)
      return std::move(text.error());
    turns.emplace_back(std::move(r), std::move(*text));
    ++i;
  }
  auto last_user =
      std::find_if(turns.rbegin(), turns.rend(), [](const auto& t) { return t.first == "user"; });
  if (last_user == turns.rend())
    return bad("\"messages\" has no user message: a swarm needs a task");
  if (turns.size() == 1) {
    out.task = turns.front().second;
    return out;
  }
  std::string context;
  for (auto t = turns.begin(); t != turns.end(); ++t) {
    if (&*t == &*last_user)
      continue;
    context += t->first + ": " + t->second + "\n";
  }
  out.task = "The conversation so far:\n" + context + "\nThe task now:\n" + last_user->second;
  return out;
}

json::object models_json(const std::vector<std::string>& swarms) {
  json::array data;
  auto created = now_s();
  for (const auto& name : swarms)
    data.push_back(json::object{
        {"id", name}, {"object", "model"}, {"created", created}, {"owned_by", "smolswarms"}});
  return {{"object", "list"}, {"data", std::move(data)}};
}

json::object openai_error(std::string_view message, std::string_view type, std::string_view code) {
  json::object e{{"message", message}, {"type", type}, {"param", nullptr}};
  e["code"] = code.empty() ? json::value(nullptr) : json::value(code);
  return {{"error", std::move(e)}};
}

json::object completion_json(const std::string& run_id, const std::string& model, const result& r) {
  json::object message{{"role", "assistant"}, {"content", r.text}};
  return {
      {"id", "chatcmpl-" + run_id},
      {"object", "chat.completion"},
      {"created", now_s()},
      {"model", model},
      {"choices", json::array{json::object{
                      {"index", 0}, {"message", std::move(message)}, {"finish_reason", "stop"}}}},
      {"usage", usage_json(r.use)},
      {"system_fingerprint", nullptr}};
}

std::pair<unsigned, json::object> completion_error(const caf::error& err) {
  auto status = http_status_of(err);
  auto type = status == 429   ? "rate_limit_error"
              : status == 400 ? "invalid_request_error"
                              : "server_error";
  if (status < 400 || status == 404)
    status = 500;
  return {status, openai_error(describe(err), type, error_code(err))};
}

std::string completion_chunk_head(const std::string& run_id, const std::string& model) {
  return sse(chunk(run_id, model, {{"role", "assistant"}, {"content", ""}}, nullptr));
}

std::vector<std::string> completion_chunks(const std::string& run_id, const std::string& model,
                                           const result& r, bool include_usage) {
  std::vector<std::string> out;
  // Pieces end after a space once they are 16 bytes or longer, and never split a UTF-8
  // sequence (a piece ends before a continuation byte only at a space).
  std::string_view text = r.text;
  while (!text.empty()) {
    size_t n = std::min<size_t>(16, text.size());
    while (n < text.size() && text[n - 1] != ' ')
      ++n;
    out.push_back(sse(chunk(run_id, model, {{"content", text.substr(0, n)}}, nullptr)));
    text.remove_prefix(n);
  }
  out.push_back(sse(chunk(run_id, model, {}, "stop")));
  if (include_usage) {
    json::object last{{"id", "chatcmpl-" + run_id}, {"object", "chat.completion.chunk"},
                      {"created", now_s()},         {"model", model},
                      {"choices", json::array{}},   {"usage", usage_json(r.use)}};
    out.push_back(sse(last));
  }
  return out;
}

std::string completion_stream_error(const caf::error& err) {
  return sse(completion_error(err).second);
}

} // namespace swarm::serve
