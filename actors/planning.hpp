// Pure decisions of the hierarchical, sequential and router coordinators: plan parsing and
// validation, dependency order, skill-based assignment, the texts sent to leads and workers,
// route choice. No actors here; unit-tested without an actor system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/concurrent.hpp"
#include "runtime/core/pattern.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

// -- plans -------------------------------------------------------------------------------------

/// One step of a lead's plan.
struct planned_subtask {
  std::string id;                      ///< unique in the plan; [A-Za-z0-9_-], at most 64 chars
  std::string text;                    ///< what the worker is asked
  std::string skill;                   ///< wanted skill; empty: any member
  std::vector<std::string> depends_on; ///< ids whose answers this subtask needs (no repeats)
};

/// A validated plan: ids unique, dependencies known, no cycle, within max_subtasks.
struct plan {
  std::vector<planned_subtask> subtasks;

  /// Index of the subtask called `id`, if any.
  std::optional<size_t> find(std::string_view id) const;
};

/// Either a valid plan (`problem` empty) or every problem found, joined by "; ".
struct plan_check {
  plan value;
  std::string problem;

  bool ok() const { return problem.empty(); }
};

/// The OpenAI `response_format` (strict JSON schema named "plan") of a lead's plan:
/// {"subtasks": [{"id", "text", "skill", "depends_on": [ids]}]}.
std::string plan_response_format();

/// The lead's planning prompt: the format, the rules, every member with its skills, the task.
std::string planning_prompt(std::string_view task_text, const std::vector<member>& members,
                            uint32_t max_subtasks);

/// The one re-ask after a malformed plan: starts with "Your previous plan was rejected: " and
/// the problem, then the planning prompt again.
std::string replanning_prompt(std::string_view problem, std::string_view task_text,
                              const std::vector<member>& members, uint32_t max_subtasks);

/// Parses and validates a lead's reply (a JSON object, optionally in a ``` fence). Checks the
/// shape, ids (present, valid, unique), texts (present, non-empty), skills, dependencies (known,
/// not the subtask itself), cycles and `max_subtasks` (0: no limit).
plan_check parse_plan(std::string_view reply, uint32_t max_subtasks);

/// The ids of one dependency cycle, first id repeated at the end ("s1", "s2", "s1"); empty when
/// the plan is acyclic. Unknown dependencies are ignored.
std::vector<std::string> plan_cycle(const plan& p);

/// Subtask indices in an order where every subtask follows its dependencies; ties keep plan
/// order. Requires an acyclic plan (subtasks on a cycle are left out).
std::vector<size_t> dependency_order(const plan& p);

// -- running a plan ----------------------------------------------------------------------------

enum class subtask_state { pending, running, done, failed, skipped };

/// Pending subtasks whose dependencies are all done, in plan order.
std::vector<size_t> ready_subtasks(const plan& p, const std::vector<subtask_state>& states);

/// A pending subtask that can never run, and the first dependency (in its `depends_on` order)
/// that failed or was skipped.
struct blocked_subtask {
  size_t index = 0;
  std::string dependency;
};

/// Pending subtasks with a failed or skipped dependency, in plan order.
std::vector<blocked_subtask> blocked_subtasks(const plan& p,
                                              const std::vector<subtask_state>& states);

/// True if `m` lists `skill` (exact match). An empty skill is nobody's.
bool has_skill(const member& m, std::string_view skill);

/// Who gets a subtask: `capable` tells whether it was chosen by skill.
struct assignment {
  size_t member = 0;
  bool capable = false;
};

/// The least loaded member with `skill` (ties: member order); without one, member
/// `round_robin % members.size()` (the caller advances its counter). `loads[i]` counts the
/// subtasks member i has in flight. Requires at least one member.
assignment assign_member(std::string_view skill, const std::vector<member>& members,
                         const std::vector<size_t>& loads, size_t round_robin);

/// Another member for a subtask: the least loaded member with `skill` not in `tried`; when no
/// member has the skill, the least loaded untried member; nullopt when none is left.
std::optional<size_t> reassign_member(std::string_view skill, const std::vector<member>& members,
                                      const std::vector<size_t>& loads,
                                      const std::vector<size_t>& tried);

/// The member for attempt `attempt` (2 or more) of a subtask that failed on `current`: attempt
/// 2 retries on `current`; later attempts go to reassign_member, else `current` again.
size_t next_worker(uint32_t attempt, size_t current, std::string_view skill,
                   const std::vector<member>& members, const std::vector<size_t>& loads,
                   const std::vector<size_t>& tried);

// -- texts of a hierarchical run ---------------------------------------------------------------

/// A dependency's answer as a dependent subtask receives it.
struct dependency_answer {
  std::string id;
  std::string member;
  std::string text;
};

/// The subtask's text with each dependency's answer appended:
/// "TEXT\n\nAnswer of subtask s1 (from a):\nANSWER".
std::string dependent_text(const planned_subtask& s, const std::vector<dependency_answer>& deps);

/// One subtask's outcome as the lead sees it when aggregating.
struct subtask_outcome {
  std::string id;
  std::string text;   ///< the subtask as planned
  std::string member; ///< who answered (or last tried); empty if it never ran
  std::string answer; ///< empty on failure
  std::string error;  ///< describe() of the failure; empty on success
};

/// The lead's aggregation prompt: "Write the final answer to the task ...", the task, then every
/// subtask with its answer (or its failure).
std::string aggregation_prompt(std::string_view task_text,
                               const std::vector<subtask_outcome>& outcomes);

/// A partial answer (deadline, guards): "## s1 (from a)\nANSWER" per answered subtask.
std::string partial_answer(const std::vector<subtask_outcome>& outcomes);

enum class review_verdict { accept, retry, reassign };

struct review_reply {
  review_verdict verdict = review_verdict::accept;
  std::string feedback;
};

/// The `response_format` (strict JSON schema "review") of a review:
/// {"verdict": "accept" | "retry" | "reassign", "feedback": "..."}.
std::string review_response_format();

/// The lead's review prompt for one answer; starts with "Review the answer".
std::string review_prompt(std::string_view task_text, const planned_subtask& s,
                          std::string_view member_name, std::string_view answer);

/// The verdict of a review reply; nullopt if it is not the schema's JSON.
std::optional<review_reply> parse_review(std::string_view reply);

/// A subtask text for another try after a review: "TEXT\n\nReviewer feedback on an earlier
/// answer: FEEDBACK" (TEXT unchanged when the feedback is empty).
std::string with_feedback(std::string_view text, std::string_view feedback);

// -- sequential --------------------------------------------------------------------------------

/// What pipeline member 2..n gets: "Task: TASK\n\nPrevious answer (from NAME): ANSWER".
std::string pipeline_text(std::string_view task_text, std::string_view previous_member,
                          std::string_view previous_answer);

// -- routing -----------------------------------------------------------------------------------

/// A route rule with its regex compiled (RE2 syntax, swarm::pattern: searched, case-sensitive,
/// linear in the task text); `re` is empty when `match` does not compile, and such a rule never
/// matches.
struct compiled_route {
  std::string match;
  std::string to;
  std::optional<pattern> re;
};

std::vector<compiled_route> compile_routes(const std::vector<route_rule>& rules);

/// The member for a task and why ("route 1 (/regex/)", "fallback", ...); no member: no route.
struct route_choice {
  std::optional<size_t> member;
  std::string reason;
};

/// Index of the member called `name`.
std::optional<size_t> find_member(const std::vector<member>& members, std::string_view name);

/// The first route whose regex matches `text` and names a member; else `fallback` (empty: the
/// first member); else no member (the reason says why).
route_choice choose_route(std::string_view text, const std::vector<compiled_route>& routes,
                          const std::vector<member>& members, std::string_view fallback);

/// The `response_format` (strict JSON schema "route") of a router's reply: {"member": name},
/// name one of the members'.
std::string router_response_format(const std::vector<member>& members);

/// The router agent's prompt: every member with its skills, then the task; starts with
/// "Choose the one member".
std::string router_prompt(std::string_view task_text, const std::vector<member>& members);

/// The one re-ask after an invalid choice: "Your previous choice was not valid: PROBLEM" and
/// the router prompt again.
std::string rerouting_prompt(std::string_view problem, std::string_view task_text,
                             const std::vector<member>& members);

/// A router reply: the member chosen, or the problem (not JSON, no "member", not a member).
struct parsed_route {
  std::optional<size_t> member;
  std::string problem;
};

parsed_route parse_router_reply(std::string_view reply, const std::vector<member>& members);

} // namespace swarm::actors
