// The collaborative coordinator: rounds of parallel answers, then a vote (majority, weighted,
// consensus) or an aggregator's synthesis (mixture of agents). Decisions live in voting.hpp.
#include "actors/collaborative.hpp"

#include <memory>
#include <optional>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/coordination.hpp"
#include "actors/voting.hpp"

namespace swarm::actors {

namespace {

// One task in flight: the round being answered and everything answered before it.
struct ballot {
  ballot(task t, const guard_options& g) : request(std::move(t)), budget(g) {}

  task request;
  caf::typed_response_promise<result> promise;
  task_budget budget;
  uint32_t round = 0;          // 1-based: consensus round or synthesize layer
  std::vector<result> answers; // this round's, in member order
  size_t pending = 0;
  std::vector<result> trace; // every result of earlier rounds and role agents, in order
  std::unordered_map<std::string, agent_actor> in_flight; // subtask id -> who works on it
  bool deadline_hit = false; // a member's timeout was cut to the deadline and ran out
  bool cancelled = false;
  bool done = false;
};

using ballot_ptr = std::shared_ptr<ballot>;

struct collaborative_state {
  collaborative_config cfg;
  monitor_actor monitor;
  std::vector<double> weights;                         // per member; 1 each unless `weighted`
  std::unordered_map<std::string, ballot_ptr> running; // task id -> ballot
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.collaborative";
};

using collaborative_pointer = agent_actor::stateful_pointer<collaborative_state>;

void start_round(collaborative_pointer self, const ballot_ptr& b);

void finish(collaborative_pointer self, const ballot_ptr& b, result out) {
  b->done = true;
  out.trace = std::move(b->trace);
  conclude(self, b, std::move(out));
}

// -- decisions over one round -----------------------------------------------------------------

std::vector<std::optional<std::string>> normalized(const std::vector<result>& answers,
                                                   const collaborative_options& opts) {
  std::vector<std::optional<std::string>> out;
  out.reserve(answers.size());
  for (const auto& r : answers)
    out.push_back(r.error ? std::nullopt : normalize_answer(r.text, opts));
  return out;
}

std::vector<labelled_answer> valid_answers(const std::vector<result>& answers,
                                           std::optional<size_t> except = std::nullopt) {
  std::vector<labelled_answer> out;
  for (size_t i = 0; i < answers.size(); ++i)
    if (!answers[i].error && i != except)
      out.push_back({answers[i].agent.name, answers[i].text});
  return out;
}

// The winning answer of tally entry `winner`, as the first member who gave it wrote it.
result winning(const std::vector<result>& answers, const tally& t, size_t winner, double share) {
  result out;
  out.text = answers[t.answers[winner].first].text;
  out.confidence = share;
  return out;
}

// A result cut short by `why`: the plurality of this round so far (quorum not required).
result partial_vote(const std::vector<result>& answers, const tally& t, caf::error why) {
  result out;
  if (auto p = plurality(t); p && t.total_weight > 0)
    out = winning(answers, t, *p, t.answers[*p].weight / t.total_weight);
  out.error = std::move(why);
  return out;
}

result decided_vote(const std::vector<result>& answers, const tally& t, double quorum,
                    const std::string& tie) {
  auto d = decide_vote(t, quorum, tie);
  if (!d.winner) {
    result out;
    out.error = std::move(d.error);
    return out;
  }
  return winning(answers, t, *d.winner, d.share);
}

// -- the decisions ------------------------------------------------------------------------------

void ask_aggregator(collaborative_pointer self, const ballot_ptr& b) {
  auto& st = self->state;
  const auto& agg = st.cfg.aggregator;
  auto sub =
      subtask(b->request, agg.name, aggregator_prompt(b->request.text, valid_answers(b->answers)),
              st.cfg.id.name, ".aggregate");
  sub.response_format = b->request.response_format;
  ask_member(self, b, agg, std::move(sub), [self, b](result r) {
    auto name = r.agent.name;
    b->trace.push_back(r);
    result out;
    if (auto why = stop_reason(*b, false)) {
      out.text = format_answers(valid_answers(b->answers));
      out.error = std::move(why);
    } else if (r.error) {
      out.error =
          make_error(errc::member_failed, "aggregator " + name + " failed: " + describe(r.error));
    } else {
      out.text = std::move(r.text);
      out.confidence = r.confidence;
      emit_decision(self, b->request,
                    {"synthesize",
                     name + " merged " + std::to_string(valid_answers(b->answers).size()) +
                         " answers of layer " + std::to_string(b->round),
                     -1,
                     b->round,
                     {}});
    }
    finish(self, b, std::move(out));
  });
}

void round_done(collaborative_pointer self, const ballot_ptr& b) {
  auto& st = self->state;
  const auto& opts = st.cfg.options;
  const auto max_rounds = std::max<uint32_t>(1, st.cfg.guards.max_rounds);
  auto answers = b->answers;
  b->trace.insert(b->trace.end(), answers.begin(), answers.end());
  if (opts.decision == "synthesize") {
    auto layers = std::min(std::max<uint32_t>(1, opts.layers), max_rounds);
    bool more = b->round < layers;
    if (auto why = stop_reason(*b, true)) {
      result out;
      out.text = format_answers(valid_answers(answers));
      out.error = std::move(why);
      return finish(self, b, std::move(out));
    }
    if (valid_answers(answers).empty()) {
      result out;
      out.error = make_error(errc::all_members_failed,
                             "no member answered in layer " + std::to_string(b->round));
      return finish(self, b, std::move(out));
    }
    return more ? start_round(self, b) : ask_aggregator(self, b);
  }
  auto t = tally_votes(normalized(answers, opts), st.weights);
  bool consensus = opts.decision == "consensus";
  bool last = !consensus || b->round >= max_rounds;
  // The monitor hears how a vote that produced an answer came out.
  auto announce = [&](const result& out) {
    if (out.error)
      return;
    decision d{opts.decision, {}, out.confidence, consensus ? b->round : 0, {}};
    for (const auto& a : t.answers) {
      d.scores.push_back({a.answer, a.weight});
      if (d.winner.empty() && answers[a.first].text == out.text)
        d.winner = a.answer;
    }
    emit_decision(self, b->request, std::move(d));
  };
  if (auto why = stop_reason(*b, false))
    return finish(self, b, partial_vote(answers, t, std::move(why)));
  if (!consensus) {
    auto out = decided_vote(answers, t, opts.quorum, opts.tie);
    announce(out);
    return finish(self, b, std::move(out));
  }
  if (t.valid > 0 && agreement_fraction(t, answers.size()) >= opts.threshold) {
    auto out = winning(answers, t, *plurality(t), agreement_fraction(t, answers.size()));
    announce(out);
    return finish(self, b, std::move(out));
  }
  if (last) {
    auto out = decided_vote(answers, t, opts.quorum, opts.tie);
    announce(out);
    if (out.error)
      out.error =
          make_error(errc::max_rounds_reached, "no agreement after " + std::to_string(b->round) +
                                                   " rounds and " + describe(out.error));
    return finish(self, b, std::move(out));
  }
  if (auto why = stop_reason(*b, true))
    return finish(self, b, partial_vote(answers, t, std::move(why)));
  start_round(self, b);
}

// The text member `i` gets in the ballot's next round.
std::string round_text(const collaborative_config& cfg, const ballot& b, size_t i) {
  if (b.round == 0)
    return b.request.text;
  if (cfg.options.decision == "synthesize")
    return layer_prompt(b.request.text, valid_answers(b.answers));
  std::optional<std::string> own;
  if (!b.answers[i].error)
    own = b.answers[i].text;
  return consensus_prompt(b.request.text, valid_answers(b.answers, i), own);
}

void start_round(collaborative_pointer self, const ballot_ptr& b) {
  auto& st = self->state;
  const auto& members = st.cfg.members;
  std::vector<task> subs;
  subs.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    auto suffix = b->round == 0                             ? std::string{}
                  : st.cfg.options.decision == "synthesize" ? ".l" + std::to_string(b->round + 1)
                                                            : ".r" + std::to_string(b->round + 1);
    subs.push_back(
        subtask(b->request, members[i].name, round_text(st.cfg, *b, i), st.cfg.id.name, suffix));
    subs.back().response_format = b->request.response_format;
  }
  ++b->round;
  b->answers.assign(members.size(), result{});
  b->pending = members.size();
  for (size_t i = 0; i < members.size(); ++i) {
    ask_member(
        self, b, members[i], std::move(subs[i]),
        [self, b, i](result r) {
          b->answers[i] = std::move(r);
          if (--b->pending == 0)
            round_done(self, b);
        },
        st.cfg.options.decision == "synthesize"  ? member_round{b->round, "layer"}
        : st.cfg.options.decision == "consensus" ? member_round{b->round, "round"}
                                                 : member_round{});
  }
}

// Why `cfg` cannot run a task at all, if it cannot.
caf::error misconfigured(const collaborative_config& cfg) {
  const auto& d = cfg.options.decision;
  if (d != "majority" && d != "weighted" && d != "consensus" && d != "synthesize")
    return make_error(errc::invalid_argument, "unknown decision \"" + d + "\"");
  if (d == "synthesize" && !cfg.aggregator.handle)
    return make_error(errc::invalid_argument, "decision synthesize needs an aggregator");
  return {};
}

agent_actor::behavior_type collaborative_behavior(collaborative_pointer self,
                                                  collaborative_config cfg, monitor_actor monitor) {
  auto& st = self->state;
  if (cfg.options.decision == "weighted") {
    std::vector<std::string> names;
    for (const auto& m : cfg.members)
      names.push_back(m.name);
    st.weights = member_weights(names, cfg.options.weights);
  }
  st.cfg = std::move(cfg);
  st.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        if (auto why = refusal(st, t, misconfigured(st.cfg)))
          return refuse(self, t, std::move(why));
        auto b = std::make_shared<ballot>(t, st.cfg.guards);
        b->promise = self->make_response_promise<result>();
        st.running.emplace(t.id, b);
        start_round(self, b);
        return b->promise;
      },
      [self](task_cancel& c) {
        if (auto b = find_running(self->state, c.task_id))
          cancel_run(self, *b);
      },
      // A message to the swarm as a whole reaches each member.
      [self](dm& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](broadcast& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_collaborative(caf::actor_system& sys, collaborative_config cfg,
                                monitor_actor monitor) {
  return sys.spawn(collaborative_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
