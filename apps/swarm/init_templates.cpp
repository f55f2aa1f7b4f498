// The spec and mock-script templates of `swarm init`, one pair per architecture. Each pair runs
// as it is against `swarm mock-llm` (tests/integration/cli_basics_test.sh runs every one).
#include "apps/swarm/init_templates.hpp"

#include <algorithm>
#include <iterator>

namespace swarm::cli {

namespace {

constexpr init_template templates[] = {
    {"concurrent", "Should we adopt a four-day week?",
     R"yaml(name: @NAME@
description: Two perspectives on one question, gathered in parallel.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.3
  max_tokens: 400
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: concurrent       # every member gets the task at once; every answer is kept
  members: [optimist, skeptic]   # agents or sub-swarms (default: every agent)
  member_timeout_ms: 90000       # guards, on every architecture: one member's answer,
  deadline_ms: 300000            #   the wall time of one task (0: none)
agents:
  - name: optimist
    role: argues for the proposal
    system_prompt: >-
      You are optimist. Give the two strongest arguments FOR the proposal in the user's question,
      one sentence each.
  - name: skeptic
    role: argues against the proposal
    system_prompt: >-
      You are skeptic. Give the two strongest arguments AGAINST the proposal in the user's
      question, one sentence each.
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md). A rule recognises an agent by its
# system prompt; the first rule that matches answers.
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are optimist"}
    reply: "For \"{{user}}\": people rest and come back sharper; hiring gets easier."
  - match: {system: "^You are skeptic"}
    reply: "Against \"{{user}}\": customers expect answers on Fridays; the gain is unmeasured."
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},

    {"sequential", "Why test against a mock LLM?",
     R"yaml(name: @NAME@
description: A draft, then an edit of that draft.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.3
  max_tokens: 400
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: sequential       # a pipeline: each member gets the task and the previous answer
  members: [drafter, editor]     # in order; the last member's answer is the result
  member_timeout_ms: 90000       # guard: one member's answer
agents:
  - name: drafter
    role: writes a first draft
    system_prompt: >-
      You are drafter. Answer the user's request with one paragraph starting with "DRAFT:".
  - name: editor
    role: tightens the draft
    system_prompt: >-
      You are editor. Edit the previous answer's draft: give it a title, cut filler words, keep
      every fact.
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md). The editor's prompt carries the
# drafter's answer ("Previous answer (from drafter): ..."); its rule captures the draft.
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are drafter"}
    reply: "DRAFT: a mock LLM answers by rules, so every run of a test sees the same replies."
  - match: {system: "^You are editor", user: "Previous answer \\(from drafter\\): DRAFT: ([^\\n]*)"}
    reply: "Same replies, every run\n\n{{match.1}}"
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},

    {"hierarchical", "Write a short note on our test strategy",
     R"yaml(name: @NAME@
description: A lead plans, workers take the subtasks by skill, the lead writes the answer.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.2
  max_tokens: 600
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: hierarchical
  lead: lead                     # plans (JSON), assigns subtasks by skill, aggregates
  members: [researcher, writer]  # the workers
  max_subtasks: 4                # most subtasks in a plan
  max_attempts: 2                # tries per subtask: try, then retry or reassign
  review: false                  # true: the lead reviews each answer
  max_messages: 20               # guards: tasks sent in one run (0: no limit),
  member_timeout_ms: 90000       #   one member's answer
agents:
  - name: lead
    role: plans the work and writes the final answer
    system_prompt: >-
      You are lead. When asked to plan, split the task into few subtasks that fit your team's
      skills. When asked for the final answer, write it from your team's answers.
  - name: researcher
    role: collects the facts
    system_prompt: >-
      You are researcher. Answer the question you are given with facts, in at most three
      sentences, starting with "FACTS:".
    skills: [research]
  - name: writer
    role: writes from the research
    system_prompt: >-
      You are writer. Write one paragraph from the research appended to your instruction,
      starting with "TEXT:".
    skills: [writing]
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md). The lead answers the planning prompt
# with a two-subtask plan (the second depends on the first) and the aggregation prompt with the
# writer's text; the writer quotes the research appended to its subtask.
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are lead", user: "^Plan the task"}
    json:
      subtasks:
        - {id: facts, text: "Collect the facts the answer needs.", skill: research, depends_on: []}
        - {id: text, text: "Write the answer from the facts.", skill: writing, depends_on: [facts]}
  - match: {system: "^You are lead", user: "^Write the final answer[\\s\\S]*TEXT: ([^\\n]*)"}
    reply: "{{match.1}}"
  - match: {system: "^You are researcher"}
    reply: "FACTS: unit tests cover the logic; integration tests run the program against a mock LLM."
  - match: {system: "^You are writer", user: "FACTS: ([^\\n]*)"}
    reply: "TEXT: Our tests have two layers: {{match.1}}"
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},

    {"collaborative", "Is 0.999... equal to 1?",
     R"yaml(name: @NAME@
description: Three voters answer independently; the majority verdict wins.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.7               # diverse answers make a vote meaningful
  max_tokens: 200
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: collaborative
  decision: majority             # majority | weighted | consensus | synthesize
  normalize: regex               # how answers compare: exact | fold | regex | json_field | number
  pattern: "VERDICT: (yes|no)"   # regex: capture group 1 is the vote
  quorum: 0.5                    # the winner needs more than this share of the valid votes
  tie: first                     # first | fail
  members: [voter_a, voter_b, voter_c]
  member_timeout_ms: 60000       # guard: one member's answer
agents:
  - name: voter_a
    system_prompt: >-
      You are voter_a. Answer with "VERDICT: yes" or "VERDICT: no", then one sentence of reasons.
  - name: voter_b
    system_prompt: >-
      You are voter_b. Answer with "VERDICT: yes" or "VERDICT: no", then one sentence of reasons.
  - name: voter_c
    system_prompt: >-
      You are voter_c. Answer with "VERDICT: yes" or "VERDICT: no", then one sentence of reasons.
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md): two voters say yes, one says no, so
# "yes" wins two votes to one (confidence 0.67).
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are voter_a"}
    reply: "VERDICT: yes. The series 9/10 + 9/100 + ... sums to exactly 1."
  - match: {system: "^You are voter_b"}
    reply: "VERDICT: yes. No number lies between 0.999... and 1."
  - match: {system: "^You are voter_c"}
    reply: "VERDICT: no. It always stays a little below 1."
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},

    {"competitive", "Write a slogan for our team",
     R"yaml(name: @NAME@
description: Two writers compete; a judge scores them and the best answer wins.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.9
  max_tokens: 100
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: competitive
  select: judge                  # judge | confidence | first_k
  judge: judge                   # scores every answer from 0 to 10 (JSON); need not be a member
  criteria: "short, memorable, accurate"
  members: [bold, plain]
  member_timeout_ms: 60000       # guard: one member's answer
agents:
  - name: bold
    system_prompt: You are bold. Answer with one daring slogan.
  - name: plain
    system_prompt: You are plain. Answer with one plain, factual slogan.
  - name: judge
    role: scores the answers
    system_prompt: >-
      You are judge. Score every answer strictly against the criteria; reply with the JSON the
      user asks for and nothing else.
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md): two slogans and the judge's scores as
# JSON; plain scores 8 of 10 and wins with confidence 0.8.
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are bold"}
    reply: "We ship on Fridays."
  - match: {system: "^You are plain"}
    reply: "Small team, tested code."
  - match: {system: "^You are judge", user: "^Score each answer"}
    json:
      scores:
        - {member: bold, score: 5}
        - {member: plain, score: 8}
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},

    {"group_chat", "Explain in one sentence why tests use a mock LLM",
     R"yaml(name: @NAME@
description: An author and a reviewer take turns until the reviewer approves.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.3
  max_tokens: 300
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: group_chat
  speaker: round_robin           # round_robin | selector (with `selector: AGENT`)
  members: [author, reviewer]    # every turn sees the whole transcript
  max_turns: 6
  terminate_on: TERMINATE        # a turn containing it ends the chat
  member_timeout_ms: 60000       # guard: one member's answer
agents:
  - name: author
    role: writes and revises the answer
    system_prompt: >-
      You are author. Write the answer to the task, or revise it as the reviewer's last comment
      asks. Start with "v1:" for a first answer and "v2:" for a revision.
  - name: reviewer
    role: reviews and ends the chat
    system_prompt: >-
      You are reviewer. Review the author's latest answer. If it needs a change, say "CHANGE:"
      and which. If it is good, say "APPROVED:", repeat it and end with the word TERMINATE.
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md). The transcript is in each turn's
# prompt: the reviewer asks for one change, the author revises, the reviewer approves the
# revision and says TERMINATE (four turns of at most six).
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are author", user: "\\nreviewer: CHANGE"}
    reply: "v2: A mock LLM answers by rules, so a test sees the same replies on every run, for free."
  - match: {system: "^You are author"}
    reply: "v1: A mock LLM answers by rules."
  - match: {system: "^You are reviewer", user: "\\nauthor: v2: ([^\\n]*)"}
    reply: "APPROVED: {{match.1}} TERMINATE"
  - match: {system: "^You are reviewer"}
    reply: "CHANGE: say why that matters for a test."
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},

    {"graph", "The export fails on an empty file",
     R"yaml(name: @NAME@
description: A classifier sends a ticket down one branch; a responder writes the reply.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.2
  max_tokens: 300
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: graph
  members: [classifier, fixer, planner, responder]   # the nodes
  edges:                         # a DAG; `when` (a regex) must match the source's answer
    - {from: classifier, to: fixer, when: "kind: bug"}
    - {from: classifier, to: planner, when: "kind: request"}
    - {from: fixer, to: responder}
    - {from: planner, to: responder}
  member_timeout_ms: 60000       # guard: one member's answer
agents:
  - name: classifier
    role: classifies the ticket
    system_prompt: >-
      You are classifier. Answer "kind: bug" or "kind: request", then one sentence summarising
      the ticket.
  - name: fixer
    role: finds a workaround for a bug
    system_prompt: You are fixer. Name the likely cause of the bug and a workaround.
  - name: planner
    role: sketches a requested feature
    system_prompt: You are planner. Sketch how the requested feature could work.
  - name: responder
    role: writes the reply to the customer
    system_prompt: You are responder. Write a short reply to the customer from the answers you are given.
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md). A ticket that mentions a failure is a
# bug (the fixer runs, the planner is skipped), anything else a request; the responder quotes the
# branch that ran.
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are classifier", user: "(?:fail|crash|error|broken)"}
    reply: "kind: bug. Something stopped working."
  - match: {system: "^You are classifier"}
    reply: "kind: request. The customer asks for something new."
  - match: {system: "^You are fixer"}
    reply: "FIX: an empty input is not checked; add one line of content until the fix ships."
  - match: {system: "^You are planner"}
    reply: "PLAN: add it behind a setting, off by default."
  - match: {system: "^You are responder", user: "Answer from (?:fixer|planner): ([^\\n]*)"}
    reply: "Thanks for writing. {{match.1}}"
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},

    {"router", "What is 12 squared?",
     R"yaml(name: @NAME@
description: Each task goes to the one member whose route matches it.
llm:                             # defaults of every agent; an agent may set any of them itself
  model: gpt-4o-mini             # --model overrides; the endpoint: url:, --llm-url or OPENAI_BASE_URL
  temperature: 0.2
  max_tokens: 300
  timeout_ms: 60000              # one LLM call, retries included
swarm:
  architecture: router
  # router: dispatcher           # an agent that picks the member (JSON); then routes are a fallback
  routes:                        # without a router: the first regex matching the task text wins
    - {match: "[0-9]", to: calculator}
    - {match: "(?:poem|verse|haiku)", to: poet}
  fallback: generalist           # when nothing matches (default: the first member)
  members: [calculator, poet, generalist]
  member_timeout_ms: 60000       # guard: one member's answer
agents:
  - name: calculator
    role: answers arithmetic questions
    system_prompt: You are calculator. Answer with the result and one line of working.
  - name: poet
    role: writes short poems
    system_prompt: You are poet. Answer with a short poem on the user's theme.
  - name: generalist
    role: answers everything else
    system_prompt: You are generalist. Answer the question in two sentences.
)yaml",
     R"yaml(# Scripted replies for @FILE@.yaml (docs/mock-llm.md): one rule per member; the spec's routes
# decide which member is asked.
seed: 1
latency: {uniform_ms: [10, 40]}
rules:
  - match: {system: "^You are calculator", user: "12 squared"}
    reply: "144: 12 x 12 = 120 + 24."
  - match: {system: "^You are calculator"}
    reply: "The result follows from the usual rules of arithmetic."
  - match: {system: "^You are poet"}
    reply: "Replies on a script / the same on every run / the tests sleep soundly"
  - match: {system: "^You are generalist"}
    reply: "It depends on what you measure. Start with the simplest thing that works."
default:
  reply: "({{model}}) no scripted answer for: {{user}}"
)yaml"},
};

} // namespace

const init_template* find_init_template(std::string_view architecture) {
  auto it = std::find_if(std::begin(templates), std::end(templates),
                         [&](const init_template& t) { return t.architecture == architecture; });
  return it == std::end(templates) ? nullptr : &*it;
}

} // namespace swarm::cli
