// The memory protocol: the working-memory blackboard of a run and the long-term memory, each
// behind a typed actor. Own type-ID block (`swarm_memory`), registered by register_types.
// Every write is answered only once it is durable (in RocksDB's write-ahead log); the actors
// then report `event_kind::memory_written` to their monitor, if they have one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/core/ids.hpp"
#include "runtime/core/messages.hpp"

namespace swarm {

// -- working memory: one blackboard per run --------------------------------------------------

/// One note on a run's blackboard.
struct wm_note {
  /// Unique within the run: "RUN:KEY" for keyed writes, "RUN#SEQ" otherwise.
  std::string id;
  std::string run_id;
  agent_id author;
  std::string kind; ///< "note", "fact" or "result"
  std::string text;
  double importance = 0.5; ///< in [0, 1]
  int64_t time_ms = 0;     ///< when it was (last) written, Unix milliseconds
};

template <class F>
typename F::result_type inspect(F& f, wm_note& x) {
  return f(caf::meta::type_name("wm_note"), x.id, x.run_id, x.author, x.kind, x.text, x.importance,
           x.time_ms);
}

/// Writes a note; answered with the stored note once it is durable. A non-empty `key` makes the
/// write idempotent: a second write with the same run and key replaces the note (same id, same
/// place in write order) instead of adding one. Errors (`invalid_argument`): empty run id, a kind
/// other than note/fact/result, an importance outside [0, 1].
struct wm_write {
  std::string run_id;
  agent_id author;
  std::string kind = "note";
  std::string text;
  double importance = 0.5;
  std::string key;
};

template <class F>
typename F::result_type inspect(F& f, wm_write& x) {
  return f(caf::meta::type_name("wm_write"), x.run_id, x.author, x.kind, x.text, x.importance,
           x.key);
}

/// The run's notes that best match `text`, best first (BM25 over the run's notes; ties newest
/// first), at most `top_k`. A text without index terms (empty, stop words only) yields the
/// newest notes first.
struct wm_query {
  std::string run_id;
  std::string text;
  uint32_t top_k = 5;
};

template <class F>
typename F::result_type inspect(F& f, wm_query& x) {
  return f(caf::meta::type_name("wm_query"), x.run_id, x.text, x.top_k);
}

/// Every note of the run, in write order.
struct wm_list {
  std::string run_id;
};

template <class F>
typename F::result_type inspect(F& f, wm_list& x) {
  return f(caf::meta::type_name("wm_list"), x.run_id);
}

/// Deletes every note of the run; answered with how many there were.
struct wm_forget_run {
  std::string run_id;
};

template <class F>
typename F::result_type inspect(F& f, wm_forget_run& x) {
  return f(caf::meta::type_name("wm_forget_run"), x.run_id);
}

/// The working memory of every run of a runtime (memory/working.hpp).
using working_memory_actor = caf::typed_actor<caf::replies_to<wm_write>::with<wm_note>,
                                              caf::replies_to<wm_query>::with<std::vector<wm_note>>,
                                              caf::replies_to<wm_list>::with<std::vector<wm_note>>,
                                              caf::replies_to<wm_forget_run>::with<uint64_t>>;

// -- long-term memory ------------------------------------------------------------------------

/// Remembers `text` in namespace `ns`; answered with the record's id once it is durable. An empty
/// `id` gets a fresh one; an existing id is replaced. `source` says where it came from (e.g.
/// "run:r42", "agent:team/a"); it is kept as the tag "source=SOURCE". Errors
/// (`invalid_argument`): empty namespace, importance outside [0, 1].
struct ltm_write {
  std::string ns;
  std::string text;
  double importance = 0.5;
  std::string source;
  std::string id;
};

template <class F>
typename F::result_type inspect(F& f, ltm_write& x) {
  return f(caf::meta::type_name("ltm_write"), x.ns, x.text, x.importance, x.source, x.id);
}

/// The long-term memories that best match `query`, from the given namespaces (empty: all).
struct ltm_recall {
  std::string query;
  std::vector<std::string> namespaces;
  uint32_t top_k = 5;
};

template <class F>
typename F::result_type inspect(F& f, ltm_recall& x) {
  return f(caf::meta::type_name("ltm_recall"), x.query, x.namespaces, x.top_k);
}

/// One recalled memory and why it ranks where it does (docs/memory.md, "Ranking").
struct ltm_hit {
  std::string id;
  std::string ns;
  std::string text;
  double score = 0;      ///< the weighted total the hits are sorted by
  double relevance = 0;  ///< in [0, 1]: normalised BM25, or its mix with cosine similarity
  double recency = 0;    ///< in (0, 1]
  double importance = 0; ///< in [0, 1]
};

template <class F>
typename F::result_type inspect(F& f, ltm_hit& x) {
  return f(caf::meta::type_name("ltm_hit"), x.id, x.ns, x.text, x.score, x.relevance, x.recency,
           x.importance);
}

/// Forgets the memory `id` (record, postings and vector); answered with whether it existed.
struct ltm_forget {
  std::string id;
};

template <class F>
typename F::result_type inspect(F& f, ltm_forget& x) {
  return f(caf::meta::type_name("ltm_forget"), x.id);
}

/// Turns the salient working-memory notes of run `run_id` into long-term memories of namespace
/// `ns` (the rule: docs/memory.md, "Consolidation"); idempotent.
struct ltm_consolidate {
  std::string run_id;
  std::string ns;
};

template <class F>
typename F::result_type inspect(F& f, ltm_consolidate& x) {
  return f(caf::meta::type_name("ltm_consolidate"), x.run_id, x.ns);
}

/// What a consolidation did.
struct consolidation_report {
  uint64_t considered = 0; ///< notes of the run that passed the salience rule
  uint64_t added = 0;      ///< new long-term records
  uint64_t merged = 0;     ///< notes folded into an existing near-duplicate record
};

template <class F>
typename F::result_type inspect(F& f, consolidation_report& x) {
  return f(caf::meta::type_name("consolidation_report"), x.considered, x.added, x.merged);
}

/// The long-term memory of a data directory (memory/long_term_actor.hpp).
using long_term_memory_actor =
    caf::typed_actor<caf::replies_to<ltm_write>::with<std::string>,
                     caf::replies_to<ltm_recall>::with<std::vector<ltm_hit>>,
                     caf::replies_to<ltm_forget>::with<bool>,
                     caf::replies_to<ltm_consolidate>::with<consolidation_report>>;

} // namespace swarm

// After the `swarm_tools` block (tool_messages.hpp), which starts at +100.
CAF_BEGIN_TYPE_ID_BLOCK(swarm_memory, caf::first_custom_type_id + 150)
CAF_ADD_TYPE_ID(swarm_memory, (swarm::wm_note))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::wm_write))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::wm_query))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::wm_list))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::wm_forget_run))
CAF_ADD_TYPE_ID(swarm_memory, (std::vector<swarm::wm_note>))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::ltm_write))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::ltm_recall))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::ltm_hit))
CAF_ADD_TYPE_ID(swarm_memory, (std::vector<swarm::ltm_hit>))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::ltm_forget))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::ltm_consolidate))
CAF_ADD_TYPE_ID(swarm_memory, (swarm::consolidation_report))
CAF_END_TYPE_ID_BLOCK(swarm_memory)
