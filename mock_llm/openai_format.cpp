// OpenAI wire format of the mock: request parsing with Boost.JSON, hand-written reply JSON.
#include "mock_llm/openai_format.hpp"

#include <cmath>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "mock_llm/json_text.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::mock_llm {

namespace json = boost::json;
using json_text::append_double;
using json_text::append_string;
using json_text::append_uint;

namespace {

caf::error bad_request(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

/// Parses `body` into a value allocated from `mr`; `error` empty on success.
json::value parse_object(std::string_view body, json::monotonic_resource& mr, std::string& error) {
  boost::system::error_code ec;
  auto value = json::parse(body, ec, json::storage_ptr{&mr});
  if (ec)
    error = "request body is not valid JSON: " + ec.message();
  else if (!value.is_object())
    error = "request body must be a JSON object";
  return value;
}

/// The text of a message's content: a string, or the text parts of an array; null is empty.
bool content_text(const json::value& content, std::string& out) {
  out.clear();
  if (content.is_null())
    return true;
  if (auto* s = content.if_string()) {
    out.assign(s->data(), s->size());
    return true;
  }
  if (auto* parts = content.if_array()) {
    for (const auto& part : *parts) {
      auto* obj = part.if_object();
      if (!obj)
        return false;
      if (auto* text = obj->if_contains("text"); text && text->is_string())
        out.append(text->get_string().data(), text->get_string().size());
    }
    return true;
  }
  return false;
}

std::optional<uint64_t> as_uint(const json::value& v) {
  if (auto* u = v.if_uint64())
    return *u;
  if (auto* i = v.if_int64(); i && *i >= 0)
    return static_cast<uint64_t>(*i);
  return std::nullopt;
}

void append_usage(std::string& out, const reply_plan& plan) {
  out += "{\"prompt_tokens\":";
  append_uint(out, plan.prompt_tokens);
  out += ",\"completion_tokens\":";
  append_uint(out, plan.completion_tokens);
  out += ",\"total_tokens\":";
  append_uint(out, plan.prompt_tokens + plan.completion_tokens);
  out += '}';
}

/// One logprobs.content entry; top_logprobs lists the token itself, then made-up alternatives.
void append_logprob(std::string& out, std::string_view token, const chat_request& req,
                    const reply_plan& plan) {
  out += "{\"token\":";
  append_string(out, token);
  out += ",\"logprob\":";
  append_double(out, plan.logprob);
  out += ",\"top_logprobs\":[";
  for (uint32_t j = 0; j < req.top_logprobs; ++j) {
    if (j > 0)
      out += ',';
    out += "{\"token\":";
    if (j == 0) {
      append_string(out, token);
    } else {
      out += "\"alt_";
      append_uint(out, j);
      out += '"';
    }
    out += ",\"logprob\":";
    append_double(out, plan.logprob - static_cast<double>(j));
    out += '}';
  }
  out += "]}";
}

void append_tool_call_id(std::string& out, uint64_t n, size_t i) {
  out += "\"call_";
  append_uint(out, n);
  out += '_';
  append_uint(out, i);
  out += '"';
}

void append_chunk_head(std::string& out, const chat_request& req, uint64_t n) {
  out += "data: {\"id\":\"chatcmpl-mock-";
  append_uint(out, n);
  out += "\",\"object\":\"chat.completion.chunk\",\"created\":";
  append_uint(out, created_time);
  out += ",\"model\":";
  append_string(out, req.model);
}

/// Splits `s` into at most `parts` pieces on UTF-8 character boundaries.
std::vector<std::string_view> split_even(std::string_view s, size_t parts) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t k = 1; k <= parts && start < s.size(); ++k) {
    size_t end = k == parts ? s.size() : std::max(start + 1, s.size() * k / parts);
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
      ++end;
    out.push_back(s.substr(start, end - start));
    start = end;
  }
  return out;
}

} // namespace

caf::expected<chat_request> parse_chat_request(std::string_view body) {
  unsigned char buf[4096];
  json::monotonic_resource mr{buf, sizeof buf};
  std::string err;
  auto v = parse_object(body, mr, err);
  if (!err.empty())
    return bad_request(std::move(err));
  const auto& obj = v.get_object();
  chat_request r;
  if (auto* m = obj.if_contains("model")) {
    if (!m->is_string())
      return bad_request("'model' must be a string");
    r.model.assign(m->get_string().data(), m->get_string().size());
  }
  auto* messages = obj.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty())
    return bad_request("'messages' must be a non-empty array");
  bool seen_system = false;
  std::string text;
  for (const auto& msg : messages->get_array()) {
    auto* m = msg.if_object();
    if (!m)
      return bad_request("each message must be an object");
    auto* role = m->if_contains("role");
    if (!role || !role->is_string())
      return bad_request("each message needs a string 'role'");
    if (auto* content = m->if_contains("content")) {
      if (!content_text(*content, text))
        return bad_request("'content' must be a string, an array of parts or null");
    } else {
      text.clear();
    }
    r.prompt_tokens += estimate_tokens(text.size());
    r.history.append(role->get_string().data(), role->get_string().size());
    r.history += ": ";
    r.history += text;
    r.history += '\n';
    if (role->get_string() == "system" && !seen_system) {
      seen_system = true;
      r.system = text;
    } else if (role->get_string() == "user") {
      r.user = text;
      r.user_name.clear();
      if (auto* name = m->if_contains("name"); name && name->is_string())
        r.user_name.assign(name->get_string().data(), name->get_string().size());
    }
  }
  if (auto* s = obj.if_contains("stream"); s && !s->is_null()) {
    if (!s->is_bool())
      return bad_request("'stream' must be a boolean");
    r.stream = s->get_bool();
  }
  if (auto* rf = obj.if_contains("response_format"); rf && !rf->is_null())
    r.response_format = true;
  if (auto* so = obj.if_contains("stream_options"); so && so->is_object())
    if (auto* iu = so->get_object().if_contains("include_usage"); iu && iu->is_bool())
      r.include_usage = iu->get_bool();
  if (auto* lp = obj.if_contains("logprobs"); lp && !lp->is_null()) {
    if (!lp->is_bool())
      return bad_request("'logprobs' must be a boolean");
    r.logprobs = lp->get_bool();
  }
  if (auto* tl = obj.if_contains("top_logprobs"); tl && !tl->is_null()) {
    auto k = as_uint(*tl);
    if (!k || *k > 20)
      return bad_request("'top_logprobs' must be an integer between 0 and 20");
    r.top_logprobs = static_cast<uint32_t>(*k);
  }
  for (auto key : {"max_tokens", "max_completion_tokens"}) {
    if (auto* mt = obj.if_contains(key); mt && !mt->is_null()) {
      auto k = as_uint(*mt);
      if (!k)
        return bad_request(std::string{"'"} + key + "' must be a non-negative integer");
      r.max_tokens = *k;
    }
  }
  return r;
}

caf::expected<embedding_request> parse_embedding_request(std::string_view body) {
  unsigned char buf[4096];
  json::monotonic_resource mr{buf, sizeof buf};
  std::string err;
  auto v = parse_object(body, mr, err);
  if (!err.empty())
    return bad_request(std::move(err));
  const auto& obj = v.get_object();
  embedding_request r;
  if (auto* m = obj.if_contains("model")) {
    if (!m->is_string())
      return bad_request("'model' must be a string");
    r.model.assign(m->get_string().data(), m->get_string().size());
  }
  auto* input = obj.if_contains("input");
  if (input && input->is_string()) {
    r.inputs.emplace_back(input->get_string().data(), input->get_string().size());
  } else if (input && input->is_array() && !input->get_array().empty()) {
    for (const auto& x : input->get_array()) {
      if (!x.is_string())
        return bad_request("'input' must be a string or a non-empty array of strings");
      r.inputs.emplace_back(x.get_string().data(), x.get_string().size());
    }
  } else {
    return bad_request("'input' must be a string or a non-empty array of strings");
  }
  if (auto* d = obj.if_contains("dimensions"); d && !d->is_null()) {
    auto k = as_uint(*d);
    if (!k || *k == 0 || *k > 65536)
      return bad_request("'dimensions' must be an integer between 1 and 65536");
    r.dimensions = static_cast<size_t>(*k);
  }
  return r;
}

void write_completion(std::string& out, const chat_request& req, const reply_plan& plan,
                      uint64_t n) {
  out.clear();
  out += "{\"id\":\"chatcmpl-mock-";
  append_uint(out, n);
  out += "\",\"object\":\"chat.completion\",\"created\":";
  append_uint(out, created_time);
  out += ",\"model\":";
  append_string(out, req.model);
  out += ",\"system_fingerprint\":\"mock\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
         "\"assistant\",\"content\":";
  bool tools = plan.tool_calls && !plan.tool_calls->empty();
  if (tools) {
    out += "null,\"tool_calls\":[";
    for (size_t i = 0; i < plan.tool_calls->size(); ++i) {
      const auto& tc = (*plan.tool_calls)[i];
      if (i > 0)
        out += ',';
      out += "{\"id\":";
      append_tool_call_id(out, n, i);
      out += ",\"type\":\"function\",\"function\":{\"name\":";
      append_string(out, tc.name);
      out += ",\"arguments\":";
      append_string(out, tc.arguments);
      out += "}}";
    }
    out += ']';
  } else if (plan.null_content) {
    out += "null";
  } else {
    append_string(out, plan.content);
  }
  out += "},\"logprobs\":";
  if (req.logprobs && !plan.huge) {
    out += "{\"content\":[";
    bool first = true;
    for (auto token : split_tokens(plan.content)) {
      if (!first)
        out += ',';
      first = false;
      append_logprob(out, token, req, plan);
    }
    out += "]}";
  } else {
    out += "null";
  }
  out += ",\"finish_reason\":\"";
  out += plan.finish_reason;
  out += "\"}]";
  if (!plan.omit_usage) {
    out += ",\"usage\":";
    append_usage(out, plan);
  }
  out += '}';
}

void write_completion_stream(std::string& out, std::vector<size_t>& ends, const chat_request& req,
                             const reply_plan& plan, uint64_t n) {
  out.clear();
  ends.clear();
  bool tools = plan.tool_calls && !plan.tool_calls->empty();
  auto end_event = [&] {
    out += "\n\n";
    ends.push_back(out.size());
  };
  auto open_choice = [&] {
    append_chunk_head(out, req, n);
    out += ",\"choices\":[{\"index\":0,\"delta\":";
  };
  // The role comes first, alone, as OpenAI sends it.
  open_choice();
  out += tools || plan.null_content ? "{\"role\":\"assistant\",\"content\":null}"
                                    : "{\"role\":\"assistant\",\"content\":\"\"}";
  out += ",\"logprobs\":null,\"finish_reason\":null}]}";
  end_event();
  if (tools) {
    for (size_t i = 0; i < plan.tool_calls->size(); ++i) {
      const auto& tc = (*plan.tool_calls)[i];
      open_choice();
      out += "{\"tool_calls\":[{\"index\":";
      append_uint(out, i);
      out += ",\"id\":";
      append_tool_call_id(out, n, i);
      out += ",\"type\":\"function\",\"function\":{\"name\":";
      append_string(out, tc.name);
      out += ",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}";
      end_event();
      for (auto piece : split_even(tc.arguments, 3)) {
        open_choice();
        out += "{\"tool_calls\":[{\"index\":";
        append_uint(out, i);
        out += ",\"function\":{\"arguments\":";
        append_string(out, piece);
        out += "}}]},\"logprobs\":null,\"finish_reason\":null}]}";
        end_event();
      }
    }
  } else if (plan.huge) {
    // 64 KiB pieces: a real server streams a long reply in many chunks, never as one line.
    constexpr size_t piece = 64 << 10;
    for (size_t at = 0; at < plan.content.size(); at += piece) {
      open_choice();
      out += "{\"content\":";
      append_string(out, std::string_view{plan.content}.substr(at, piece));
      out += "},\"logprobs\":null,\"finish_reason\":null}]}";
      end_event();
    }
  } else {
    for (auto token : split_tokens(plan.content)) {
      open_choice();
      out += "{\"content\":";
      append_string(out, token);
      out += "},\"logprobs\":";
      if (req.logprobs) {
        out += "{\"content\":[";
        append_logprob(out, token, req, plan);
        out += "]}";
      } else {
        out += "null";
      }
      out += ",\"finish_reason\":null}]}";
      end_event();
    }
  }
  open_choice();
  out += "{},\"logprobs\":null,\"finish_reason\":\"";
  out += plan.finish_reason;
  out += "\"}]}";
  end_event();
  if (req.include_usage && !plan.omit_usage) {
    append_chunk_head(out, req, n);
    out += ",\"choices\":[],\"usage\":";
    append_usage(out, plan);
    out += '}';
    end_event();
  }
  out += "data: [DONE]";
  end_event();
}

void embedding_vector(std::string_view input, size_t dimensions, std::vector<float>& out) {
  uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a
  for (unsigned char c : input)
    h = (h ^ c) * 0x100000001b3ULL;
  out.resize(dimensions);
  double norm = 0;
  for (size_t i = 0; i < dimensions; ++i) {
    auto x = unit_random(h, i, 0x656d626564ULL) * 2.0 - 1.0; // "embed"
    out[i] = static_cast<float>(x);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0)
    for (auto& x : out)
      x = static_cast<float>(x / norm);
}

void write_embeddings(std::string& out, const embedding_request& req, size_t dimensions) {
  out.clear();
  out += "{\"object\":\"list\",\"data\":[";
  std::vector<float> vec;
  uint64_t tokens = 0;
  for (size_t i = 0; i < req.inputs.size(); ++i) {
    if (i > 0)
      out += ',';
    out += "{\"object\":\"embedding\",\"index\":";
    append_uint(out, i);
    out += ",\"embedding\":[";
    embedding_vector(req.inputs[i], dimensions, vec);
    for (size_t k = 0; k < vec.size(); ++k) {
      if (k > 0)
        out += ',';
      json_text::append_float(out, vec[k]);
    }
    out += "]}";
    tokens += estimate_tokens(req.inputs[i].size());
  }
  out += "],\"model\":";
  append_string(out, req.model);
  out += ",\"usage\":{\"prompt_tokens\":";
  append_uint(out, tokens);
  out += ",\"total_tokens\":";
  append_uint(out, tokens);
  out += "}}";
}

void write_models(std::string& out, const script& s) {
  out.clear();
  out += "{\"object\":\"list\",\"data\":[";
  auto add = [&](std::string_view id, bool first) {
    if (!first)
      out += ',';
    out += "{\"id\":";
    append_string(out, id);
    out += ",\"object\":\"model\",\"created\":";
    append_uint(out, created_time);
    out += ",\"owned_by\":\"swarm-mock\"}";
  };
  add("mock", true);
  for (const auto& m : s.models)
    if (m != "mock")
      add(m, false);
  out += "]}";
}

void write_stats(std::string& out, const stats& st) {
  out.clear();
  auto field = [&](std::string_view name, uint64_t x) {
    out += '"';
    out += name;
    out += "\":";
    append_uint(out, x);
    out += ',';
  };
  out += '{';
  field("requests", st.requests);
  field("chat_requests", st.chat_requests);
  field("stream_requests", st.stream_requests);
  field("embedding_requests", st.embedding_requests);
  field("cancels", st.cancels);
  field("faults", st.faults);
  field("prompt_tokens", st.prompt_tokens);
  field("completion_tokens", st.completion_tokens);
  field("in_flight", st.in_flight);
  field("peak_in_flight", st.peak_in_flight);
  out += "\"status_counts\":{";
  bool first = true;
  for (const auto& [status, count] : st.status_counts) {
    if (!first)
      out += ',';
    first = false;
    out += '"';
    append_uint(out, static_cast<uint64_t>(status));
    out += "\":";
    append_uint(out, count);
  }
  out += "}}";
}

void write_error(std::string& out, std::string_view message, std::string_view type,
                 std::string_view code) {
  out.clear();
  out += "{\"error\":{\"message\":";
  append_string(out, message);
  out += ",\"type\":";
  append_string(out, type);
  out += ",\"param\":null,\"code\":";
  if (code.empty())
    out += "null";
  else
    append_string(out, code);
  out += "}}";
}

} // namespace swarm::mock_llm
