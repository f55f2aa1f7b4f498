// The LLM broker's calls and its own messages (runtime/llm_broker.cpp only): what it keeps of a
// call from its arrival to its answer, and what the client's I/O threads and its journal writer
// send back.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/atom.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/core/handles.hpp"

namespace swarm::detail {

using chat_done_atom = caf::atom_constant<caf::atom("brkchat")>;
using embed_done_atom = caf::atom_constant<caf::atom("brkembed")>;
using kept_atom = caf::atom_constant<caf::atom("brkkept")>;

/// The broker's real interface: llm_actor plus what the client's I/O threads and the journal
/// writer send back (call id, ticket of the attempt, outcome). Callers see the llm_actor subset.
using broker_actor =
    llm_actor::extend<caf::reacts_to<chat_done_atom, uint64_t, uint64_t, chat_result>,
                      caf::reacts_to<chat_done_atom, uint64_t, uint64_t, caf::error>,
                      caf::reacts_to<embed_done_atom, uint64_t, uint64_t, embedding_result>,
                      caf::reacts_to<embed_done_atom, uint64_t, uint64_t, caf::error>,
                      caf::reacts_to<kept_atom, uint64_t, uint64_t, chat_result>,
                      caf::reacts_to<kept_atom, uint64_t, uint64_t, caf::error>>;

/// Whose a chat call is, for its events (budget_warning, llm_fallback).
struct call_origin {
  std::string run_id;
  std::string task_id;
  agent_id agent;
};

/// A call between its arrival and its answer.
template <class Result>
struct brokered_call {
  caf::typed_response_promise<Result> rp;
  uint64_t ticket = 0;
  uint64_t lease = 0;      ///< 0 while waiting for the grant, and once released
  bool answered = false;   ///< cancelled while waiting: answered, the grant still to come
  bool sent = false;       ///< handed to the client (or the inner actor)
  bool writing = false;    ///< its reply is with the journal writer
  bool cancelling = false; ///< cancelled at the client: its failure is not fallen back from
  usage estimate;          ///< the grant's estimate: charged when the reply states no usage
  /// Chat calls without `original` when a monitor listens: run, task and agent for events.
  std::unique_ptr<call_origin> origin;
  /// Chat calls journaled or with fallbacks: the request as it came (null: neither).
  std::shared_ptr<const chat_request> original;
  std::string key;       ///< chat calls: the journal key (empty: not journaled)
  uint32_t fallback = 0; ///< 0: the request's endpoint; i: its fallbacks[i - 1]
  std::chrono::steady_clock::time_point deadline; ///< the call's one deadline, from its arrival
  /// Not 0: the reply carries this call id; the call was taken over by another caller (the
  /// replacement of the one that asked, which died; see the broker's `given`).
  uint64_t answer_id = 0;
};

/// What a chat call keeps across its admissions (a fallback is admitted again).
struct call_context {
  caf::typed_response_promise<chat_result> rp; ///< invalid: a new call
  uint32_t fallback = 0;
  std::chrono::steady_clock::time_point deadline; ///< unset: from now and req.timeout
  std::string key;
  std::shared_ptr<const chat_request> original;
};

template <class Result>
using call_map = std::unordered_map<uint64_t, brokered_call<Result>>;

/// An event of `kind` about chat call `call` (its run, task and agent, from the request it keeps
/// or its origin); false if it keeps neither (no monitor listens).
template <class Result>
bool head_of(const brokered_call<Result>& call, event_kind kind, event& out) {
  out.kind = kind;
  if (call.original) {
    out.run_id = call.original->run_id;
    out.task_id = call.original->task_id;
    out.agent = call.original->agent;
  } else if (call.origin) {
    out.run_id = call.origin->run_id;
    out.task_id = call.origin->task_id;
    out.agent = call.origin->agent;
  } else {
    return false;
  }
  return true;
}

} // namespace swarm::detail
