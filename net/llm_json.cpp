// The OpenAI wire format: URL parsing, request encoding and response decoding with Boost.JSON.
#include "net/llm_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include <boost/json.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/utf8.hpp"

namespace swarm::net {

namespace json = boost::json;

// -- URLs ------------------------------------------------------------------------------------

std::string parsed_url::pool_key() const {
  std::string out = tls ? "https://" : "http://";
  out += host;
  out += ':';
  out += std::to_string(port);
  return out;
}

std::string parsed_url::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) {
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

caf::expected<parsed_url> parse_url(std::string_view url) {
  auto bad = [&](const char* what) {
    return make_error(errc::invalid_argument,
                      std::string{"bad endpoint URL '"} + std::string{url} + "': " + what);
  };
  parsed_url out;
  auto lower_prefix = [&](std::string_view p) {
    if (url.size() < p.size())
      return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(url[i])) != p[i])
        return false;
    return true;
  };
  std::string_view rest;
  if (lower_prefix("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (lower_prefix("http://")) {
    rest = url.substr(7);
  } else {
    return bad("scheme must be http or https");
  }
  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad("query and fragment are not allowed");
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  auto path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return bad("user info is not allowed");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad("unterminated IPv6 literal");
    out.host.assign(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return bad("junk after IPv6 literal");
      port_text = after.substr(1);
      if (port_text.empty())
        return bad("empty port");
    }
  } else {
    auto colon = authority.find(':');
    out.host.assign(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty())
        return bad("empty port");
    }
  }
  if (out.host.empty())
    return bad("no host");
  for (char c : out.host)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '[' || c == ']')
      return bad("invalid host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return bad("invalid port");
    out.port = static_cast<uint16_t>(port);
  } else {
    out.port = out.tls ? 443 : 80;
  }
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  for (char c : path)
    if (std::isspace(static_cast<unsigned char>(c)))
      return bad("whitespace in path");
  out.base_path.assign(path);
  return out;
}

// -- helpers ---------------------------------------------------------------------------------

std::string excerpt(std::string_view body, size_t n) {
  if (body.size() <= n) {
    std::string out{body};
    repair_utf8(out); // error texts end up in events and in the model's transcript
    return out;
  }
  // Back up over UTF-8 continuation bytes so the cut never splits a sequence.
  while (n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80)
    --n;
  std::string out{body.substr(0, n)};
  out += "...";
  repair_utf8(out); // error texts end up in events and in the model's transcript
  return out;
}

namespace {

caf::error invalid(std::string_view what, std::string_view body) {
  std::string msg{what};
  msg += ": ";
  msg += excerpt(body);
  return make_error(errc::llm_invalid_response, std::move(msg));
}

const json::object* as_object(const json::value* v) {
  return v ? v->if_object() : nullptr;
}

const json::value* field(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

std::string_view str_or(const json::object& o, std::string_view key, std::string_view dflt = {}) {
  if (auto v = o.if_contains(key); v && v->is_string())
    return v->get_string();
  return dflt;
}

double number_or(const json::value* v, double dflt) {
  if (!v)
    return dflt;
  if (v->is_double())
    return v->get_double();
  if (v->is_int64())
    return static_cast<double>(v->get_int64());
  if (v->is_uint64())
    return static_cast<double>(v->get_uint64());
  return dflt;
}

uint64_t count_or(const json::value* v) {
  if (!v)
    return 0;
  if (v->is_uint64())
    return v->get_uint64();
  if (v->is_int64())
    return v->get_int64() > 0 ? static_cast<uint64_t>(v->get_int64()) : 0;
  // Saturates: a double past 2^64 converted as it is would be undefined behaviour (found by
  // fuzz/stream_chunks, an "index" of 2.2e24).
  if (v->is_double())
    return !(v->get_double() > 0)                      ? 0
           : v->get_double() >= 18446744073709551616.0 ? UINT64_MAX
                                                       : static_cast<uint64_t>(v->get_double());
  return 0;
}

// Marks a cassette's reply whose usage the broker estimated (encode_chat_response); no server
// sends it.
constexpr std::string_view estimated_key = "x_swarm_estimated";
// Marks a cassette's reply that a fallback answered: its chat_result::fallback (> 0).
constexpr std::string_view fallback_key = "x_swarm_fallback";

/// A token count as a reply states it: a JSON integer in [0, max_usage_tokens]. Anything else
/// (negative, fractional, beyond the range, a string, null) is no count: trusting it as 0 would
/// let a call go unpaid, and a huge one would wrap the sums.
std::optional<uint64_t> strict_count(const json::value* v) {
  if (v == nullptr)
    return std::nullopt;
  if (auto u = v->if_uint64(); u && *u <= max_usage_tokens)
    return *u;
  if (auto i = v->if_int64(); i && *i >= 0 && static_cast<uint64_t>(*i) <= max_usage_tokens)
    return static_cast<uint64_t>(*i);
  return std::nullopt;
}

/// Reads the `usage` of `root` into `use`. True if it states its counts validly (see
/// strict_count; `completion_tokens` may be left out when not `need_completion`, as embeddings
/// do); otherwise `use`'s token counts are 0 and false: the caller marks the usage missing.
bool read_usage(const json::object& root, usage& use, bool need_completion = true) {
  use.prompt_tokens = 0;
  use.completion_tokens = 0;
  auto u = as_object(field(root, "usage"));
  if (!u)
    return false;
  auto prompt = strict_count(field(*u, "prompt_tokens"));
  auto completion_v = field(*u, "completion_tokens");
  auto completion = strict_count(completion_v);
  if (!need_completion && completion_v == nullptr)
    completion = 0;
  if (!prompt || !completion)
    return false;
  use.prompt_tokens = *prompt;
  use.completion_tokens = *completion;
  return true;
}

/// True if the usage of `root` carries the cassette's estimated mark.
bool marked_estimated(const json::object& root) {
  auto u = as_object(field(root, "usage"));
  auto mark = u ? field(*u, estimated_key) : nullptr;
  return mark != nullptr && mark->is_bool() && mark->get_bool();
}

// `arguments` is a JSON text; some servers send an object instead.
std::string arguments_text(const json::value* v) {
  if (!v || v->is_null())
    return {};
  if (v->is_string())
    return std::string{v->get_string()};
  return json::serialize(*v);
}

// A logprob as the runtime keeps it: within [-1e6, 0] (above 0 would be a probability above 1)
// and on a grid of 1e-9. Boost.JSON 1.81 reads a double of 16-17 significant digits up to one
// unit off, so a value written as it came would change each time a cassette is read and written
// again; a grid point has at most 15 digits and a power of ten within 10^22, which it reads
// exactly.
double kept_logprob(double v) {
  if (!(v < 0)) // 0, positive and NaN
    return 0;
  if (v < -1e6)
    return -1e6;
  double kept = std::round(v * 1e9) / 1e9;
  return kept == 0 ? 0.0 : kept; // never -0, which is written apart from 0
}

void read_logprobs(const json::object& choice, std::vector<token_logprob>& out) {
  auto lp = as_object(field(choice, "logprobs"));
  if (!lp)
    return;
  auto content = field(*lp, "content");
  if (!content || !content->is_array())
    return;
  for (const auto& item : content->get_array())
    if (auto o = item.if_object())
      out.push_back(token_logprob{std::string{str_or(*o, "token")},
                                  kept_logprob(number_or(field(*o, "logprob"), 0))});
}

// A reply's body as the runtime takes it in: each invalid UTF-8 sequence becomes U+FFFD before it
// is parsed (Boost.JSON refuses them). JSON's own syntax is ASCII, so only the contents of its
// strings change (content, tool-call arguments, deltas); `repaired` counts the replacements.
std::string_view repaired_body(std::string_view body, std::string& storage, uint32_t& repaired) {
  if (is_valid_utf8(body))
    return body;
  storage.assign(body);
  repaired += static_cast<uint32_t>(repair_utf8(storage));
  return storage;
}

json::value parse_json(std::string_view text, json::storage_ptr sp, boost::system::error_code& ec) {
  json::parse_options po;
  po.max_depth = 64;
  return json::parse(text, ec, std::move(sp), po);
}

} // namespace

std::string api_error_message(std::string_view body) {
  boost::system::error_code ec;
  json::monotonic_resource mr;
  auto v = parse_json(body, &mr, ec);
  if (!ec) {
    if (auto o = v.if_object()) {
      if (auto e = field(*o, "error")) {
        if (auto eo = e->if_object()) {
          if (auto m = str_or(*eo, "message"); !m.empty())
            return std::string{m};
        } else if (e->is_string()) {
          return std::string{e->get_string()};
        }
      }
      if (auto m = str_or(*o, "message"); !m.empty())
        return std::string{m};
    }
  }
  return excerpt(body);
}

// -- requests --------------------------------------------------------------------------------

caf::expected<std::string> encode_chat_request(const chat_request& req) {
  unsigned char buf[4096];
  json::monotonic_resource mr{buf, sizeof(buf)};
  json::object root{&mr};
  root["model"] = req.model;
  json::array& messages = root["messages"].emplace_array();
  messages.reserve(req.messages.size());
  for (const auto& m : req.messages) {
    json::object& o = messages.emplace_back(json::object{}).as_object();
    o["role"] = m.role;
    if (m.content.empty() && !m.tool_calls.empty())
      o["content"] = nullptr;
    else
      o["content"] = m.content;
    if (!m.name.empty())
      o["name"] = m.name;
    if (!m.tool_call_id.empty())
      o["tool_call_id"] = m.tool_call_id;
    if (!m.tool_calls.empty()) {
      json::array& calls = o["tool_calls"].emplace_array();
      for (const auto& tc : m.tool_calls) {
        json::object& c = calls.emplace_back(json::object{}).as_object();
        c["id"] = tc.id;
        c["type"] = "function";
        json::object& fn = c["function"].emplace_object();
        fn["name"] = tc.name;
        fn["arguments"] = tc.arguments;
      }
    }
  }
  boost::system::error_code ec;
  if (!req.tools.empty()) {
    json::array& tools = root["tools"].emplace_array();
    for (const auto& t : req.tools) {
      json::object& o = tools.emplace_back(json::object{}).as_object();
      o["type"] = "function";
      json::object& fn = o["function"].emplace_object();
      fn["name"] = t.name;
      if (!t.description.empty())
        fn["description"] = t.description;
      if (!t.parameters.empty()) {
        auto params = parse_json(t.parameters, &mr, ec);
        if (ec || !params.is_object())
          return make_error(errc::invalid_argument,
                            "parameters of tool '" + t.name + "' is not a JSON object");
        fn["parameters"] = std::move(params);
      }
    }
  }
  if (!req.response_format.empty()) {
    auto rf = parse_json(req.response_format, &mr, ec);
    if (ec || !rf.is_object())
      return make_error(errc::invalid_argument, "response_format is not a JSON object");
    root["response_format"] = std::move(rf);
  }
  if (req.temperature >= 0)
    root["temperature"] = req.temperature;
  if (req.max_tokens > 0)
    root["max_tokens"] = req.max_tokens;
  if (req.top_logprobs >= 0) {
    root["logprobs"] = true;
    root["top_logprobs"] = req.top_logprobs;
  }
  if (req.stream) {
    root["stream"] = true;
    root["stream_options"].emplace_object()["include_usage"] = true;
  }
  return json::serialize(root);
}

std::string encode_embedding_request(const embedding_request& req) {
  unsigned char buf[2048];
  json::monotonic_resource mr{buf, sizeof(buf)};
  json::object root{&mr};
  root["model"] = req.model;
  json::array& input = root["input"].emplace_array();
  input.reserve(req.input.size());
  for (const auto& s : req.input)
    input.emplace_back(s);
  return json::serialize(root);
}

// -- responses -------------------------------------------------------------------------------

caf::expected<chat_result> decode_chat_response(std::string_view raw_body) {
  unsigned char buf[4096];
  json::monotonic_resource mr{buf, sizeof(buf)};
  boost::system::error_code ec;
  std::string storage;
  uint32_t repaired = 0;
  auto body = repaired_body(raw_body, storage, repaired);
  auto v = parse_json(body, &mr, ec);
  if (ec)
    return invalid("response is not JSON (" + ec.message() + ")", body);
  auto root = v.if_object();
  if (!root)
    return invalid("response is not a JSON object", body);
  auto choices = field(*root, "choices");
  if (!choices || !choices->is_array() || choices->get_array().empty())
    return invalid("response has no choices", body);
  auto choice = choices->get_array()[0].if_object();
  if (!choice)
    return invalid("choices[0] is not an object", body);
  auto message = as_object(field(*choice, "message"));
  if (!message)
    return invalid("choices[0] has no message", body);
  chat_result out;
  out.model = str_or(*root, "model");
  bool has_content = false;
  if (auto c = field(*message, "content"); c && !c->is_null()) {
    if (!c->is_string())
      return invalid("message.content is not a string", body);
    out.content = c->get_string();
    has_content = true;
  }
  if (auto tcs = field(*message, "tool_calls"); tcs && !tcs->is_null()) {
    if (!tcs->is_array())
      return invalid("message.tool_calls is not an array", body);
    for (const auto& item : tcs->get_array()) {
      auto tc = item.if_object();
      auto fn = tc ? as_object(field(*tc, "function")) : nullptr;
      if (!fn)
        return invalid("malformed tool call", body);
      out.tool_calls.push_back(tool_call{std::string{str_or(*tc, "id")},
                                         std::string{str_or(*fn, "name")},
                                         arguments_text(field(*fn, "arguments"))});
    }
  }
  if (!has_content && out.tool_calls.empty())
    return make_error(errc::invalid_reply,
                      "the reply has neither content nor tool calls (content: null): " +
                          excerpt(body));
  out.finish_reason = str_or(*choice, "finish_reason");
  read_logprobs(*choice, out.logprobs);
  out.usage_estimated = !read_usage(*root, out.use) || marked_estimated(*root);
  if (auto fb = strict_count(field(*root, fallback_key)); fb && *fb <= UINT32_MAX)
    out.fallback = static_cast<uint32_t>(*fb);
  out.repaired = repaired;
  return out;
}

std::string encode_chat_response(const chat_result& res) {
  json::object root;
  root["object"] = "chat.completion";
  root["model"] = res.model;
  json::object message;
  message["role"] = "assistant";
  message["content"] = res.content;
  if (!res.tool_calls.empty()) {
    json::array calls;
    for (const auto& tc : res.tool_calls)
      calls.push_back(json::object{{"id", tc.id},
                                   {"type", "function"},
                                   {"function", {{"name", tc.name}, {"arguments", tc.arguments}}}});
    message["tool_calls"] = std::move(calls);
  }
  json::object choice{{"index", 0}, {"finish_reason", res.finish_reason}};
  choice["message"] = std::move(message);
  if (!res.logprobs.empty()) {
    json::array content;
    for (const auto& lp : res.logprobs)
      content.push_back(json::object{{"token", lp.token}, {"logprob", lp.logprob}});
    choice["logprobs"] = json::object{{"content", std::move(content)}};
  }
  root["choices"] = json::array{std::move(choice)};
  json::object use{{"prompt_tokens", res.use.prompt_tokens},
                   {"completion_tokens", res.use.completion_tokens},
                   {"total_tokens", res.use.total_tokens()}};
  if (res.usage_estimated)
    use[estimated_key] = true;
  root["usage"] = std::move(use);
  if (res.fallback > 0)
    root[fallback_key] = res.fallback;
  return json::serialize(root);
}

caf::expected<embedding_result> decode_embedding_response(std::string_view body) {
  json::monotonic_resource mr;
  boost::system::error_code ec;
  auto v = parse_json(body, &mr, ec);
  if (ec)
    return invalid("response is not JSON (" + ec.message() + ")", body);
  auto root = v.if_object();
  if (!root)
    return invalid("response is not a JSON object", body);
  auto data = field(*root, "data");
  if (!data || !data->is_array())
    return invalid("response has no data array", body);
  const auto& items = data->get_array();
  embedding_result out;
  out.vectors.resize(items.size());
  std::vector<bool> seen(items.size(), false);
  size_t dim = 0; ///< of the first vector
  for (size_t i = 0; i < items.size(); ++i) {
    auto item = items[i].if_object();
    if (!item)
      return invalid("data item is not an object", body);
    auto idx_v = field(*item, "index");
    size_t idx = idx_v ? static_cast<size_t>(count_or(idx_v)) : i;
    if (idx >= items.size() || seen[idx])
      return invalid("data item has a bad index", body);
    seen[idx] = true;
    auto emb = field(*item, "embedding");
    if (!emb || !emb->is_array())
      return invalid("data item has no embedding array", body);
    auto& vec = out.vectors[idx];
    vec.reserve(emb->get_array().size());
    for (const auto& x : emb->get_array()) {
      if (!x.is_number())
        return invalid("embedding holds a non-number", body);
      vec.push_back(static_cast<float>(number_or(&x, 0)));
    }
    // One model, one dimension: a reply mixing them, or with an empty vector, would reach the
    // vector index half stored (found by fuzz/embeddings).
    if (vec.empty())
      return invalid("data item has an empty embedding", body);
    if (dim == 0)
      dim = vec.size();
    else if (vec.size() != dim)
      return invalid("embeddings of different dimensions (" + std::to_string(dim) + " and " +
                         std::to_string(vec.size()) + ")",
                     body);
  }
  read_usage(*root, out.use, false); // invalid: no tokens; the broker charges its estimate
  return out;
}

// -- stream accumulator ----------------------------------------------------------------------

struct stream_accumulator::state {
  chat_result result;
  bool usage_valid = false; ///< the last usage chunk stated valid counts
  bool saw_content = false; ///< a delta's content was a string (even "")
};

stream_accumulator::stream_accumulator() : state_(std::make_unique<state>()) {}

stream_accumulator::~stream_accumulator() = default;
stream_accumulator::stream_accumulator(stream_accumulator&&) noexcept = default;
stream_accumulator& stream_accumulator::operator=(stream_accumulator&&) noexcept = default;

void stream_accumulator::reset() {
  state_->result = {};
  state_->usage_valid = false;
  state_->saw_content = false;
  deltas_ = 0;
}

caf::expected<chat_result> stream_accumulator::finish() {
  if (!state_->saw_content && state_->result.tool_calls.empty()) {
    reset();
    return make_error(errc::invalid_reply,
                      "the streamed reply has neither content nor tool calls (no delta "
                      "carried a content string)");
  }
  return take();
}

chat_result stream_accumulator::take() {
  auto out = std::move(state_->result);
  out.usage_estimated = !state_->usage_valid;
  reset();
  return out;
}

caf::error stream_accumulator::add(std::string_view raw_chunk, const delta_sink& on_delta) {
  unsigned char buf[2048];
  json::monotonic_resource mr{buf, sizeof(buf)};
  boost::system::error_code ec;
  std::string storage;
  auto chunk_json = repaired_body(raw_chunk, storage, state_->result.repaired);
  auto v = parse_json(chunk_json, &mr, ec);
  if (ec)
    return invalid("stream chunk is not JSON (" + ec.message() + ")", chunk_json);
  auto root = v.if_object();
  if (!root)
    return invalid("stream chunk is not a JSON object", chunk_json);
  auto& res = state_->result;
  if (auto err = field(*root, "error"); err && !err->is_null())
    return make_error(errc::llm_http_error, "error in stream: " + api_error_message(chunk_json));
  if (auto m = str_or(*root, "model"); !m.empty() && res.model.empty())
    res.model = m;
  if (auto u = field(*root, "usage"); u && u->is_object())
    state_->usage_valid = read_usage(*root, res.use);
  auto choices = field(*root, "choices");
  if (!choices || choices->is_null())
    return {};
  if (!choices->is_array())
    return invalid("stream chunk choices is not an array", chunk_json);
  for (const auto& item : choices->get_array()) {
    auto choice = item.if_object();
    if (!choice)
      return invalid("stream chunk choice is not an object", chunk_json);
    if (auto idx = field(*choice, "index"); idx && count_or(idx) != 0)
      continue; // only the first choice is folded
    if (auto fr = str_or(*choice, "finish_reason"); !fr.empty())
      res.finish_reason = fr;
    read_logprobs(*choice, res.logprobs);
    auto delta = as_object(field(*choice, "delta"));
    if (!delta)
      continue;
    auto c = field(*delta, "content");
    if (c && c->is_string())
      state_->saw_content = true;
    if (c && c->is_string() && !c->get_string().empty()) {
      std::string_view text = c->get_string();
      res.content.append(text);
      ++deltas_;
      if (on_delta)
        on_delta(text);
    }
    auto tcs = field(*delta, "tool_calls");
    if (!tcs || tcs->is_null())
      continue;
    if (!tcs->is_array())
      return invalid("delta.tool_calls is not an array", chunk_json);
    for (const auto& tci : tcs->get_array()) {
      auto tc = tci.if_object();
      if (!tc)
        return invalid("tool call delta is not an object", chunk_json);
      size_t index = field(*tc, "index") ? static_cast<size_t>(count_or(field(*tc, "index")))
                                         : res.tool_calls.size();
      if (index > 1024)
        return invalid("tool call delta index out of range", chunk_json);
      if (index >= res.tool_calls.size())
        res.tool_calls.resize(index + 1);
      auto& call = res.tool_calls[index];
      if (auto id = str_or(*tc, "id"); !id.empty())
        call.id = id;
      if (auto fn = as_object(field(*tc, "function"))) {
        if (auto name = str_or(*fn, "name"); !name.empty())
          call.name = name;
        if (auto args = field(*fn, "arguments"); args && !args->is_null())
          call.arguments += arguments_text(args);
      }
    }
  }
  return {};
}

} // namespace swarm::net
