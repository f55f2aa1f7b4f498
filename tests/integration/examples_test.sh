#!/usr/bin/env bash
# Every example spec against `swarm mock-llm` running its scripted replies (examples/NAME.mock.yaml):
# each run exits 0 and its JSON result shows the flow the example is meant to demonstrate. Then
# every examples/*.yaml with a .mock.yaml is smoke-tested, so a new example is covered too.
# Usage: examples_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1 src=$2
ex="$src/examples"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

on_failure() { echo "--- mock"; cat "$tmp/mock.mock" 2>/dev/null; }

# example NAME TASK: runs examples/NAME.yaml on TASK against its mock script with --json;
# checks the exit code and that stdout is a JSON result. Sets rc.
example() {
  local name=$1 task=$2
  start_mock "$ex/$name.mock.yaml"
  "$swarm" run "$ex/$name.yaml" --task "$task" --llm-url "$url" --json --data-dir "$tmp/state" \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
  stop_mock
  check "$name ($task) exits 0" test "$rc" -eq 0
}

# flow DESCRIPTION PYTHON: asserts on the JSON result `r` of the last run. Helpers: `tr` (the
# trace), `who(x)` (the agent's own name, without the swarm path), `ends(x, s)` (task id suffix),
# `find(name)` (the trace entries of one agent).
flow() {
  local what=$1 code=$2
  if python3 - "$tmp/out" "$code" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
tr = r.get("trace", [])
def who(x): return x["agent"].rsplit("/", 1)[-1]
def ends(x, s): return x["task_id"].endswith(s)
def find(name): return [x for x in tr if who(x) == name]
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("assertion failed:", e if str(e) else sys.argv[2].strip().splitlines()[-1])
    sys.exit(1)
PY
    passed=$((passed + 1))
  else
    fail "$what"
  fi
}

# -- pipeline (sequential): each step builds on the previous answer
example pipeline "Why use actors for LLM agents?"
flow "pipeline: researcher -> writer -> editor, each building on the last" '
assert [who(x) for x in tr] == ["researcher", "writer", "editor"], [who(x) for x in tr]
assert all("error" not in x for x in tr)
facts = tr[0]["text"].split("FACTS: ", 1)[1]
assert facts in tr[1]["text"], "the writer uses the research"
assert tr[1]["text"].split("DRAFT: ", 1)[1] in tr[2]["text"], "the editor edits the draft"
assert r["text"] == tr[2]["text"], "the result is the last step"
assert "Why use actors for LLM agents?" in r["text"] and "a mailbox serialises" in r["text"]
'

# -- company (hierarchical with a nested collaborative sub-swarm)
example company "Should we launch a hosted version of SmolSwarms?"
flow "company: the ceo plans four subtasks with skills and dependencies" '
assert ends(tr[0], ".plan") and who(tr[0]) == "ceo", tr[0]
plan = json.loads(tr[0]["text"])["subtasks"]
assert [s["id"] for s in plan] == ["market", "risks", "proposal", "review"], plan
assert plan[2]["depends_on"] == ["market", "risks"] and plan[3]["depends_on"] == ["proposal"]
'
flow "company: subtasks go to the members with the skill, the load spread" '
got = {x["task_id"].rsplit(".", 1)[1]: who(x) for x in tr[1:-1]}
assert got == {"market": "analyst", "risks": "scout", "proposal": "writer",
               "review": "review_board"}, got
assert all("error" not in x for x in tr)
'
flow "company: the writer gets both research answers" '
w = find("writer")[0]["text"]
assert "40 of the 120 teams" in w and "two funded competitors" in w, w
'
flow "company: the nested review board votes 2 to 1" '
board = find("review_board")[0]
assert sorted(who(x) for x in board["trace"]) == ["reviewer_a", "reviewer_b", "reviewer_c"]
assert board["text"].startswith("VERDICT: approve"), board["text"]
assert abs(board["confidence"] - 2 / 3) < 1e-6, board
'
flow "company: the ceo aggregates, last" '
assert ends(tr[-1], ".aggregate") and who(tr[-1]) == "ceo", tr[-1]
assert r["text"] == tr[-1]["text"] and "review board voted to approve" in r["text"], r["text"]
assert r["usage"]["calls"] == 8, r["usage"]
'

# -- vote (collaborative majority, numbers compared as numbers)
example vote "What is 17 * 24?"
flow "vote: 408 wins 4 to 1 over the wrong 418" '
assert len(tr) == 5 and find("solver4")[0]["text"] == "418"
assert r["text"] == "408" and abs(r["confidence"] - 0.8) < 1e-6, r
'

# -- debate (collaborative consensus): disagreement in round 1, agreement in round 2
example debate "Is 0.999... (repeating) equal to 1?"
flow "debate: round 1 disagrees" '
r1 = [x for x in tr if not ends(x, ".r2")]
assert len(r1) == 3 and find("intuitionist")[0]["text"].startswith("VERDICT: no"), r1
'
flow "debate: round 2 converges and stops there" '
r2 = [x for x in tr if ends(x, ".r2")]
assert len(r2) == 3 and len(tr) == 6, [x["task_id"] for x in tr]
assert all(x["text"].startswith("VERDICT: yes") for x in r2)
assert "I was wrong" in find("intuitionist")[1]["text"]
assert r["text"].startswith("VERDICT: yes") and r["confidence"] == 1.0, r
'

# -- synthesis (mixture of agents: two layers, then the aggregator)
example synthesis "How should we store agents' API keys?"
flow "synthesis: two layers of three, then the aggregator merges layer 2" '
assert len(tr) == 7 and sum(ends(x, ".l2") for x in tr) == 3, [x["task_id"] for x in tr]
assert who(tr[-1]) == "chief" and ends(tr[-1], ".aggregate"), tr[-1]
for x in tr:
    if ends(x, ".l2"):
        assert x["text"].split(": ", 1)[1] in r["text"], (x["text"], r["text"])
assert r["text"] == tr[-1]["text"]
'

# -- race (competitive, judged): the judge's best answer wins
example race "Write a slogan for SmolSwarms"
flow "race: the judge scores every answer and its best wins" '
assert [who(x) for x in tr] == ["punny", "plain", "poetic", "judge"], [who(x) for x in tr]
scores = {s["member"]: s["score"] for s in json.loads(tr[-1]["text"])["scores"]}
best = max(scores, key=scores.get)
assert best == "plain" and r["text"] == find(best)[0]["text"], (scores, r["text"])
assert abs(r["confidence"] - scores[best] / 10) < 1e-6, r
'

# -- chat (group_chat with a selector): ends by the marker within max_turns
example chat "Write a Python function that averages a list"
flow "chat: the moderator picks every speaker" '
sel = [x for x in tr if who(x) == "moderator"]
turns = [x for x in tr if who(x) != "moderator"]
assert [who(x) for x in turns] == ["planner", "coder", "reviewer", "coder", "reviewer"], \
    [x["task_id"] for x in tr]
assert len(sel) == len(turns) and [who(x) for x in tr[::2]] == ["moderator"] * 5
'
flow "chat: the marker ends it before max_turns (8), stripped from the answer" '
last = tr[-1]
assert who(last) == "reviewer" and "TERMINATE" in last["text"] and len(tr) // 2 < 8
assert "TERMINATE" not in r["text"] and r["text"].startswith("APPROVED"), r["text"]
assert "if xs else 0.0" in r["text"], "the reviewer approves the fixed code"
'

# -- graph: conditional edges and fan-in
example graph "The app crashes when I upload an empty file"
flow "graph: a bug ticket skips the feature branch" '
d = find("designer")[0]
assert d.get("error", "").startswith("no_route") and "skipped" in d["text"], d
assert all("error" not in find(n)[0] for n in ["triage", "bug_fixer", "docs_search", "responder"])
'
flow "graph: the responder fans in from both branches that ran" '
resp = find("responder")[0]["text"]
assert "empty uploads reach the parser" in resp and "docs/uploads.md" in resp, resp
assert r["text"] == resp and who(tr[-1]) == "responder"
'
example graph "Please add a dark mode"
flow "graph: a feature request takes the other branch" '
assert find("bug_fixer")[0].get("error", "").startswith("no_route")
assert "error" not in find("designer")[0]
assert r["text"].startswith("Thanks for suggesting") and "settings toggle" in r["text"], r["text"]
'

# -- router: the dispatcher picks one member; only that one is asked
example router "Write a haiku about actors"
flow "router: a poem goes to the poet" '
decision = [x for x in tr if x["agent"] == "router"]
assert [x["text"] for x in decision] == ["poet (chosen by dispatcher)"], tr
assert [who(x) for x in tr] == ["dispatcher", "router", "poet"], [who(x) for x in tr]
assert r["text"] == find("poet")[0]["text"]
'
example router "What is 12 squared?"
flow "router: arithmetic goes to the mathematician" '
assert [who(x) for x in tr] == ["dispatcher", "router", "mathematician"], [who(x) for x in tr]
assert r["text"].startswith("144"), r["text"]
'

# -- smoke: every example with a mock script runs on a generic task
for spec in "$ex"/*.yaml; do
  case "$spec" in *.mock.yaml) continue ;; esac
  name=$(basename "$spec" .yaml)
  [ -f "$ex/$name.mock.yaml" ] || continue
  example "$name" "Smoke test: what is 2 + 2?"
  flow "smoke $name: a JSON result with an answer and no error" '
assert r["text"].strip() and r["error"] is None and r["status"] == "done", r
'
done

finish
