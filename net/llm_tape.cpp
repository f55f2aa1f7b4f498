// The LLM tape (see llm_tape.hpp).
#include "net/llm_tape.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <openssl/evp.h>
#include <string_view>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace {

// Slack on top of a call's own deadline (chat_request::timeout, set by the agent), so the inner
// actor's precise error arrives first; past it the tape cancels the call on the inner actor.
// Shorter than the agent's slack, so the tape answers before its caller gives up.
constexpr auto request_slack = std::chrono::seconds(1);

void append_field(std::string& out, std::string_view s) {
  auto n = static_cast<uint32_t>(s.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(s);
}

std::string describe_call(const chat_request& req) {
  std::string user;
  for (auto i = req.messages.rbegin(); i != req.messages.rend(); ++i)
    if (i->role == "user") {
      user = i->content.substr(0, 80);
      break;
    }
  return req.agent.str() + " task " + req.task_id + " step " + std::to_string(req.step) +
         " (model " + req.model + ", last user message: \"" + user + "\")";
}

struct tape_state {
  llm_actor inner;
  std::shared_ptr<call_store> store;
  tape_mode mode = tape_mode::record;
  std::unordered_map<std::string, uint32_t> seen; // key without occurrence -> calls so far

  static inline const char* name = "swarm.llm_tape";

  std::string key_for(const chat_request& req) {
    auto base = content_key(req, 0);
    auto n = seen[base]++;
    return n == 0 ? base : content_key(req, n);
  }
};

using tape_pointer = llm_actor::stateful_pointer<tape_state>;

llm_actor::behavior_type tape_behavior(tape_pointer self, llm_actor inner,
                                       std::shared_ptr<call_store> store, tape_mode mode) {
  self->state.inner = std::move(inner);
  self->state.store = std::move(store);
  self->state.mode = mode;
  return {
      [self](chat_request& req) -> caf::result<chat_result> {
        auto& st = self->state;
        auto key = st.key_for(req);
        if (st.mode != tape_mode::record) {
          auto hit = st.store->find(key);
          if (!hit)
            return std::move(hit.error());
          if (*hit) {
            auto reply = std::move(**hit);
            reply.call_id = req.call_id;
            return reply;
          }
          if (st.mode == tape_mode::replay)
            return make_error(errc::replay_missing,
                              st.store->describe() + " has no reply for " + describe_call(req));
        }
        auto rp = self->make_response_promise<chat_result>();
        auto timeout = std::max(req.timeout, caf::timespan{0}) + request_slack;
        auto kept = std::make_shared<chat_request>(req);
        self->request(st.inner, timeout, std::move(req))
            .then(
                [self, rp, kept, key](chat_result& reply) mutable {
                  if (auto err = self->state.store->put(key, *kept, reply))
                    rp.deliver(std::move(err));
                  else
                    rp.deliver(std::move(reply));
                },
                [self, rp, kept](caf::error& err) mutable {
                  if (err == caf::sec::request_timeout) {
                    // The inner actor let the deadline pass: stop the call there.
                    self->send(self->state.inner, chat_cancel{kept->call_id});
                    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(kept->timeout);
                    err = make_error(errc::llm_timeout, "no answer within the call's timeout of " +
                                                            std::to_string(ms.count()) +
                                                            " ms; the call was cancelled");
                  }
                  rp.deliver(std::move(err));
                });
        return rp;
      },
      [self](embedding_request& req) -> caf::result<embedding_result> {
        if (!self->state.inner)
          return make_error(errc::replay_missing,
                            "embeddings are not recorded: replay cannot answer them");
        return self->delegate(self->state.inner, std::move(req));
      },
      [self](chat_cancel& c) {
        if (self->state.inner)
          self->send(self->state.inner, c);
      },
  };
}

} // namespace

std::string journal_key(const chat_request& req, uint32_t occurrence) {
  if (req.run_id.empty())
    return {};
  std::string out;
  out.reserve(req.run_id.size() + req.task_id.size() + 48);
  out.append(req.run_id).push_back('\n');
  out.append(req.agent.str()).push_back('\n');
  out.append(req.task_id).push_back('\n');
  out.append(std::to_string(req.step)).push_back('\n');
  out.append(std::to_string(occurrence));
  return out;
}

std::string content_key(const chat_request& req, uint32_t occurrence) {
  std::string canon;
  append_field(canon, req.model);
  for (const auto& m : req.messages) {
    append_field(canon, m.role);
    append_field(canon, m.content);
    append_field(canon, m.name);
    append_field(canon, m.tool_call_id);
    for (const auto& tc : m.tool_calls) {
      append_field(canon, tc.id);
      append_field(canon, tc.name);
      append_field(canon, tc.arguments);
    }
    append_field(canon, "\x1e"); // end of message
  }
  for (const auto& t : req.tools) {
    append_field(canon, t.name);
    append_field(canon, t.description);
    append_field(canon, t.parameters);
  }
  append_field(canon, req.response_format);
  char params[96];
  std::snprintf(params, sizeof(params), "%.17g|%d|%d", req.temperature, req.max_tokens,
                req.top_logprobs);
  append_field(canon, params);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(canon.data(), canon.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len + 12);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0xf]);
  }
  out.push_back(':');
  out.append(std::to_string(occurrence));
  return out;
}

llm_actor spawn_llm_tape(caf::actor_system& sys, llm_actor inner, std::shared_ptr<call_store> store,
                         tape_mode mode) {
  return sys.spawn(tape_behavior, std::move(inner), std::move(store), mode);
}

} // namespace swarm::net
