#!/usr/bin/env python3
"""`swarm serve` over real loopback HTTP: every route, bad input, auth on and off, the event log
as JSON, Server-Sent Events (resumed with Last-Event-ID) and WebSocket, cancel and resume through
the API, SIGTERM with a live run then restart and resume, approvals, and the OpenAI facade.

usage: serve_api_test.py SWARM SOURCE_DIR
"""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import time

import serve_harness
from serve_harness import SRC, SWARM, TMP, check, log_of, read_port, start, wait_for


def mock(script, name):
    port_file = os.path.join(TMP, name + ".port")
    p = start(["mock-llm", "--port", "0", "--port-file", port_file, "--script", script], name)
    return p, f"http://127.0.0.1:{read_port(port_file, name)}/v1"


def serve(data, name, extra=()):
    port_file = os.path.join(TMP, name + ".port")
    if os.path.exists(port_file):
        os.remove(port_file)
    p = start(["serve", "--port", "0", "--port-file", port_file, "--data-dir", data] +
              list(extra), name)
    return p, read_port(port_file, name)


class Api:
    def __init__(self, port, token=None):
        self.port, self.token = port, token

    def call(self, method, path, body=None, headers=None, raw=False):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", "Bearer " + self.token)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        if raw:
            return r.status, data, r
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, data

    def sse(self, path, headers=None, stop_after=None, timeout=60):
        """The events of an SSE stream until the server ends it (or `stop_after` events)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Accept": "text/event-stream"}
        h.update(headers or {})
        if self.token:
            h.setdefault("Authorization", "Bearer " + self.token)
        c.request("GET", path, headers=h)
        r = c.getresponse()
        events, cur = [], {}
        if r.status != 200:
            return r.status, []
        while True:
            line = r.readline()
            if not line:
                break
            line = line.decode().rstrip("\n")
            if line == "":
                if "data" in cur:
                    events.append(cur)
                    if stop_after and len(events) >= stop_after:
                        break
                cur = {}
            elif line.startswith(":"):
                continue
            else:
                k, _, v = line.partition(": ")
                cur[k] = v
        c.close()
        return 200, events


def ws_events(port, path, token=None, limit=10000):
    """A minimal WebSocket client: the text frames of `path` until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n{auth}\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            return None, []
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = int(head.split()[1])
    frames = []

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk

    try:
        while len(frames) < limit:
            need(2)
            op, ln = buf[0] & 0x0F, buf[1] & 0x7F
            pos = 2
            if ln == 126:
                need(4)
                ln, pos = int.from_bytes(buf[2:4], "big"), 4
            elif ln == 127:
                need(10)
                ln, pos = int.from_bytes(buf[2:10], "big"), 10
            need(pos + ln)
            payload, buf = buf[pos:pos + ln], buf[pos + ln:]
            if op == 8:
                break
            if op == 1:
                frames.append(json.loads(payload))
    except (EOFError, socket.timeout):
        pass
    s.close()
    return status, frames


def parse_prometheus(text):
    """Checks Prometheus text format 0.0.4 strictly; returns {(name, labels): value}."""
    import re
    samples, typed, problems = {}, {}, []
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if line.startswith("# TYPE "):
                if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    problems.append(f"line {n}: bad type")
                typed[parts[2]] = parts[3]
            continue
        m = sample.match(line)
        if not m:
            problems.append(f"line {n}: not a sample: {line}")
            continue
        name, labels = m.group(1), ()
        if m.group(3):
            rest, pairs = m.group(3), []
            while rest:
                lm = label.match(rest)
                if not lm:
                    problems.append(f"line {n}: bad labels: {rest}")
                    break
                pairs.append((lm.group(1), lm.group(2)))
                rest = rest[lm.end():]
            labels = tuple(pairs)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in typed and base not in typed:
            problems.append(f"line {n}: {name} has no TYPE before it")
        samples[(name, labels)] = float(m.group(4))
    # Histograms: buckets never fall, and +Inf equals _count.
    for (name, labels), v in samples.items():
        if name.endswith("_count") and typed.get(name[:-6]) == "histogram":
            inf = samples.get((name[:-6] + "_bucket", labels + (("le", "+Inf"),)))
            if inf != v:
                problems.append(f"{name}{labels}: +Inf bucket {inf} != count {v}")
            cum = [samples[k] for k in samples if k[0] == name[:-6] + "_bucket" and
                   k[1][:-1] == labels]
            if cum != sorted(cum):
                problems.append(f"{name}{labels}: buckets fall")
    return samples, problems


def metric(samples, name, **labels):
    return sum(v for (n, ls), v in samples.items()
               if n == name and all((k, v2) in ls for k, v2 in labels.items()))


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run_until(api, run_id, statuses, seconds=60):
    def done():
        st, r = api.call("GET", f"/v1/runs/{run_id}")
        return r if st == 200 and r["status"] in statuses else None
    return wait_for(done, seconds, 0.1)


def main():
    _, llm = mock(os.path.join(SRC, "examples/debate.mock.yaml"), "mock")
    # Each swarm names its endpoint (a server's --llm-url would override every spec's).
    debate = open(os.path.join(SRC, "examples/debate.yaml")).read().replace(
        "\nllm:\n", f"\nllm:\n  url: {llm}\n", 1)
    # A slow mock: every reply takes 1.5 s, so runs are caught while they run.
    slow_script = write("slow.mock.yaml", "latency: {fixed_ms: 1500}\ndefault:\n"
                        "  reply: \"VERDICT: yes. slow answer\"\n")
    _, slow_llm = mock(slow_script, "slow")
    data = os.path.join(TMP, "data")
    srv, port = serve(data, "serve", ["--max-body-kib", "64"])
    api = Api(port)

    # -- routes answer; bad input is named ------------------------------------------------------
    st, body = api.call("GET", "/healthz")
    check("GET /healthz answers ok", st == 200 and body == {"status": "ok"}, body)
    st, doc = api.call("GET", "/v1/openapi.json")
    check("GET /v1/openapi.json is an OpenAPI 3.1 document", st == 200 and
          doc.get("openapi", "").startswith("3.1"), str(doc)[:200])
    st, body = api.call("POST", "/v1/runs", '{"swarm": "x", "task": "y"}',
                        {"Origin": "http://evil.example", "Content-Type": "text/plain"})
    check("without tokens, another site's page is refused (403)", st == 403 and
          body["error"]["code"] == "forbidden", body)
    st, body = api.call("GET", "/v1/swarms", headers={"Host": f"rebound.example:{port}"})
    check("... and so is a name that is not this machine (DNS rebinding)", st == 403, body)
    st, body = api.call("GET", "/v1/swarms", headers={"Origin": f"http://127.0.0.1:{port}"})
    check("... while the server's own origin is served", st == 200, body)
    st, body = api.call("GET", "/v1/nothing")
    check("an unknown route is 404 not_found", st == 404 and body["error"]["code"] == "not_found")
    st, body = api.call("PUT", "/v1/swarms")
    check("a known route with another method is 405", st == 405 and
          body["error"]["code"] == "method_not_allowed", body)
    st, body = api.call("POST", "/v1/swarms", "name: x\nagents: [{name: a, modl: 3}]\n")
    check("a bad spec is 400 invalid_spec with path and line", st == 400 and
          body["error"]["code"] == "invalid_spec" and
          any(p["line"] > 0 and "agents[0]" in p["path"] for p in body["error"]["problems"]), body)
    st, body = api.call("POST", "/v1/swarms", debate)
    check("POST /v1/swarms starts a swarm (201)", st == 201 and body["name"] == "debate" and
          [a["name"] for a in body["agents"]] == ["mathematician", "intuitionist", "teacher"], body)
    st, body = api.call("POST", "/v1/swarms", debate)
    check("a second swarm of the same name is 409", st == 409, body)
    st, body = api.call("POST", "/v1/swarms?replace=true", debate)
    check("?replace=true replaces it (201)", st == 201, body)
    slow_spec = debate.replace("name: debate", "name: slow", 1).replace(llm, slow_llm, 1)
    st, body = api.call("POST", "/v1/swarms", slow_spec)
    check("a second swarm on the slow mock starts", st == 201, body)
    st, body = api.call("GET", "/v1/swarms")
    check("GET /v1/swarms lists both", st == 200 and
          sorted(s["name"] for s in body["data"]) == ["debate", "slow"], body)
    st, body = api.call("GET", "/v1/swarms/debate")
    check("GET /v1/swarms/{name} has health and spending", st == 200 and
          body["health"]["alive"] == body["health"]["total"] and body["health"]["total"] >= 3
          and "usage" in body, body)
    st, body = api.call("GET", "/v1/swarms/nope")
    check("an unknown swarm is 404 unknown_swarm", st == 404 and
          body["error"]["code"] == "unknown_swarm", body)
    st, body = api.call("POST", "/v1/runs", "{not json")
    check("bad JSON is 400 bad_request", st == 400 and body["error"]["code"] == "bad_request", body)
    st, body = api.call("POST", "/v1/runs", {"swarm": "debate", "task": "x", "run_id": "../x"})
    check("a run id that is no run id is 400", st == 400 and "run_id" in body["error"]["message"],
          body)
    st, body = api.call("POST", "/v1/runs", {"task": "x"})
    check("a run without swarm is 400 naming the field", st == 400 and
          "swarm" in body["error"]["message"], body)
    st, body = api.call("POST", "/v1/runs", {"swarm": "nope", "task": "x"})
    check("a run of an unknown swarm is 404", st == 404 and
          body["error"]["code"] == "unknown_swarm", body)
    st, body = api.call("POST", "/v1/runs", {"swarm": "debate", "task": "x" * (100 << 10)})
    check("an oversize body is 413 payload_too_large", st == 413 and
          body["error"]["code"] == "payload_too_large", body)
    st, body = api.call("GET", "/v1/runs/nope")
    check("an unknown run is 404 unknown_run", st == 404 and
          body["error"]["code"] == "unknown_run", body)

    # -- a run, waited for, and its events ------------------------------------------------------
    st, run = api.call("POST", "/v1/runs", {"swarm": "debate", "task": "Is 0.999... = 1?",
                                            "wait": True})
    check("POST /v1/runs with wait answers the ended run", st == 200 and run["status"] == "done"
          and run["result"]["text"].startswith("VERDICT") and len(run["members"]) >= 3 and
          run["result"]["usage"]["calls"] >= 3, run)
    rid = run["id"]
    st, got = api.call("GET", f"/v1/runs/{rid}")
    check("GET /v1/runs/{id} has status, result, usage and members", st == 200 and
          got["status"] == "done" and got["result"] == run["result"] and
          len(got["members"]) == len(run["members"]), got)
    st, page = api.call("GET", f"/v1/runs/{rid}/events")
    seqs = [e["run_seq"] for e in page["data"]]
    check("the event log has the whole run, numbered 1..n", st == 200 and
          seqs == list(range(1, len(seqs) + 1)) and page["data"][0]["kind"] == "run_started" and
          page["data"][-1]["kind"] == "run_finished" and page["next"] == len(seqs), page)
    n = len(seqs)
    st, part = api.call("GET", f"/v1/runs/{rid}/events?after=5&limit=3")
    check("?after=5&limit=3 pages the log", st == 200 and
          [e["run_seq"] for e in part["data"]] == [6, 7, 8] and part["next"] == 8, part)
    st, events = api.sse(f"/v1/runs/{rid}/events")
    check("SSE of an ended run sends the log, then ends", st == 200 and
          [int(e["id"]) for e in events] == seqs and events[-1]["event"] == "run_finished" and
          json.loads(events[0]["data"])["kind"] == "run_started", events[:2])
    st, events = api.sse(f"/v1/runs/{rid}/events", {"Last-Event-ID": "7"})
    check("SSE with Last-Event-ID: 7 starts at 8", st == 200 and
          [int(e["id"]) for e in events] == list(range(8, n + 1)), events[:2])
    st, frames = ws_events(port, f"/v1/runs/{rid}/events?after=2")
    check("the same stream over WebSocket", st == 101 and
          [f["run_seq"] for f in frames] == list(range(3, n + 1)), (st, frames[:2]))
    st, body = api.call("GET", f"/v1/runs/{rid}/events?after=x")
    check("a bad after is 400", st == 400, body)

    # A log longer than a page (500 events): the stream sends it a page at a time, all of it.
    wide = "name: wide\nllm:\n  url: " + llm + "\nswarm: {architecture: concurrent}\nagents:\n" + \
        "".join(f"  - {{name: w{i}}}\n" for i in range(150))
    st, body = api.call("POST", "/v1/swarms", wide)
    check("a swarm of 150 agents starts", st == 201, body)
    st, big = api.call("POST", "/v1/runs", {"swarm": "wide", "task": "all of you", "wait": True})
    st, events = api.sse(f"/v1/runs/{big['id']}/events")
    ids = [int(e["id"]) for e in events]
    check("a backlog of several pages streams whole and in order", len(ids) > 500 and
          ids == list(range(1, len(ids) + 1)) and events[-1]["event"] == "run_finished",
          (len(ids), ids[-3:]))
    api.call("DELETE", "/v1/swarms/wide")

    # Paging and filters: three more runs.
    for i in range(3):
        api.call("POST", "/v1/runs", {"swarm": "debate", "task": f"task {i}", "wait": True})
    st, p1 = api.call("GET", "/v1/runs?swarm=debate&limit=2")
    st2, p2 = api.call("GET", f"/v1/runs?swarm=debate&limit=2&after={p1['next']}")
    ids = [r["id"] for r in p1["data"] + p2["data"]]
    check("runs page newest first with has_more and next", st == 200 and st2 == 200 and
          p1["has_more"] and not p2["has_more"] and len(ids) == 4 and len(set(ids)) == 4 and
          p1["data"][0]["task"] == "task 2" and ids[-1] == rid, (p1, p2))
    st, body = api.call("GET", "/v1/runs?status=failed")
    check("a status filter with no match is an empty page", st == 200 and body["data"] == [])
    st, body = api.call("GET", "/v1/runs?limit=0")
    check("limit=0 is 400", st == 400, body)

    # -- live: SSE while a run goes, broken off and resumed; cancel -----------------------------
    st, live = api.call("POST", "/v1/runs", {"swarm": "slow", "task": "live one"})
    check("POST /v1/runs without wait answers 202 running", st == 202 and
          live["status"] == "running", live)
    lid = live["id"]
    st, first = api.sse(f"/v1/runs/{lid}/events", stop_after=2)
    last = int(first[-1]["id"]) if first else 0
    st, rest = api.sse(f"/v1/runs/{lid}/events", {"Last-Event-ID": str(last)})
    got = [int(e["id"]) for e in first + rest]
    check("a live stream broken off and resumed with Last-Event-ID misses and repeats nothing",
          got == list(range(1, len(got) + 1)) and rest and rest[-1]["event"] == "run_finished",
          got)
    st, page = api.call("GET", f"/v1/runs/{lid}/events")
    check("... and is what the log keeps", [e["run_seq"] for e in page["data"]] == got)
    st, victim = api.call("POST", "/v1/runs", {"swarm": "slow", "task": "cancel me"})
    vid = victim["id"]
    wait_for(lambda: api.call("POST", f"/v1/runs/{vid}/cancel")[0] == 202, 10, 0.05)
    ended = run_until(api, vid, {"cancelled", "done", "failed"}, 30)
    check("POST /v1/runs/{id}/cancel ends the run cancelled", ended and
          ended["status"] == "cancelled", ended)
    st, body = api.call("POST", f"/v1/runs/{vid}/cancel")
    check("cancelling an ended run is 409", st == 409, body)
    st, body = api.call("POST", "/v1/runs/nope/cancel")
    check("cancelling an unknown run is 404", st == 404, body)
    st, body = api.call("POST", f"/v1/runs/{rid}/resume")
    check("resuming a done run answers it (200)", st == 200 and body["status"] == "done", body)

    # -- the OpenAI facade ----------------------------------------------------------------------
    st, models = api.call("GET", "/v1/models")
    check("GET /v1/models lists the swarms", st == 200 and models["object"] == "list" and
          {"debate", "slow"} <= {m["id"] for m in models["data"]}, models)
    st, comp = api.call("POST", "/v1/chat/completions",
                        {"model": "debate", "messages": [{"role": "user", "content": "Q?"}]})
    check("a chat completion answers with the swarm's result and usage", st == 200 and
          comp["object"] == "chat.completion" and
          comp["choices"][0]["message"]["content"].startswith("VERDICT") and
          comp["usage"]["total_tokens"] > 0, comp)
    st, raw, resp = api.call("POST", "/v1/chat/completions",
                             {"model": "debate", "stream": True,
                              "stream_options": {"include_usage": True},
                              "messages": [{"role": "user", "content": "Q?"}]}, raw=True)
    datas = [ln[6:] for ln in raw.decode().split("\n") if ln.startswith("data: ")]
    chunks = [json.loads(d) for d in datas[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    check("a streamed completion: chunks, the answer, usage, [DONE]", st == 200 and
          datas[-1] == "[DONE]" and text.startswith("VERDICT") and
          chunks[-1]["usage"]["total_tokens"] > 0 and
          resp.getheader("X-Swarm-Run-Id", "").startswith("run-"), datas[:3])
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/chat/completions", body=json.dumps(
        {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "leave"}]}))
    r = c.getresponse()
    left_id = r.getheader("X-Swarm-Run-Id", "")
    r.readline()
    wait_for(lambda: api.call("GET", f"/v1/runs/{left_id}")[0] == 200, 10)
    time.sleep(0.3)
    c.close()  # the client leaves before the answer
    left = run_until(api, left_id, {"cancelled", "done", "failed"}, 30)
    check("a streamed completion whose client leaves is cancelled", left and
          left["status"] == "cancelled", left)
    st, body = api.call("POST", "/v1/chat/completions",
                        {"model": "nope", "messages": [{"role": "user", "content": "Q?"}]})
    check("an unknown model is 404 model_not_found", st == 404 and
          body["error"]["code"] == "model_not_found", body)
    st, body = api.call("POST", "/v1/chat/completions", {"model": "debate", "messages": []})
    check("no messages is 400 invalid_request_error", st == 400 and
          body["error"]["type"] == "invalid_request_error", body)

    # -- metrics ---------------------------------------------------------------------------------
    st, text, resp = api.call("GET", "/metrics", raw=True)
    samples, problems = parse_prometheus(text.decode())
    check("GET /metrics is valid Prometheus text", st == 200 and not problems and
          resp.getheader("Content-Type", "").startswith("text/plain"), problems[:5])
    check("... counting runs by swarm and status",
          metric(samples, "smolswarms_runs_finished_total", swarm="debate", status="done") >= 6
          and metric(samples, "smolswarms_runs_finished_total", swarm="slow",
                     status="cancelled") == 2, [k for k in samples if "runs" in k[0]])
    calls = metric(samples, "smolswarms_llm_calls_total", swarm="debate", outcome="ok")
    check("... LLM calls, tokens and latency by swarm, agent and model", calls >= 18 and
          metric(samples, "smolswarms_llm_tokens_total", swarm="debate", type="prompt") > 0 and
          metric(samples, "smolswarms_llm_calls_total", agent="teacher", model="gpt-4o-mini") > 0
          and metric(samples, "smolswarms_llm_call_duration_seconds_count", swarm="debate") ==
          calls, calls)
    check("... agents, live runs, the client and the database",
          metric(samples, "smolswarms_agents", swarm="debate") == 3 and
          metric(samples, "smolswarms_llm_requests_total") >= calls and
          metric(samples, "smolswarms_storage_bytes") > 0 and
          ("smolswarms_runs_live", ()) in samples, [k for k in samples if "storage" in k[0]])
    check("... members alive and mailbox depth",
          metric(samples, "smolswarms_members_alive", swarm="debate") == 4 and
          ("smolswarms_mailbox_depth", (("swarm", "debate"),)) in samples and
          ("smolswarms_mailbox_depth_max", (("swarm", "debate"),)) in samples,
          [k for k in samples if "alive" in k[0] or "mailbox" in k[0]])
    check("... and each swarm's resource pool",
          ("smolswarms_pool_waiting", (("swarm", "debate"),)) in samples and
          ("smolswarms_pool_slots_held", (("swarm", "slow"),)) in samples,
          [k for k in samples if "pool" in k[0]])

    # -- approvals ------------------------------------------------------------------------------
    _, tools_llm = mock(os.path.join(SRC, "examples/tools.mock.yaml"), "tools_mock")
    tools = open(os.path.join(SRC, "examples/tools.yaml")).read().replace(
        "llm: {model: mock}", "llm: {model: mock, url: \"" + tools_llm + "\"}", 1)
    st, body = api.call("POST", "/v1/swarms", tools)
    check("the tools swarm starts", st == 201, body)
    st, trun = api.call("POST", "/v1/runs", {"swarm": "tools_demo", "task": "count the words"})
    pending = wait_for(lambda: api.call("GET", "/v1/approvals")[1]["data"], 30, 0.1)
    check("GET /v1/approvals lists the waiting tool call", pending and
          pending[0]["tool"] == "shell" and pending[0]["run_id"] == trun["id"] and
          pending[0]["id"].startswith("tools_demo:"), pending)
    st, body = api.call("POST", "/v1/approvals/tools_demo:999", {"approve": True})
    check("an unknown approval is 404", st == 404 and
          body["error"]["code"] == "unknown_approval", body)
    st, body = api.call("POST", f"/v1/approvals/{pending[0]['id']}", {"reason": "x"})
    check("a decision without approve is 400", st == 400, body)
    st, body = api.call("POST", f"/v1/approvals/{pending[0]['id']}", {"approve": True})
    check("POST /v1/approvals/{id} approves", st == 200 and body["approved"] is True, body)
    ended = run_until(api, trun["id"], {"done", "failed", "cancelled"}, 60)
    check("the approved run finishes", ended and ended["status"] == "done" and
          "9 words" in ended["result"]["text"], ended)

    # -- swarm run --server: a run handed to the server, watched from here ----------------------
    server_url = f"http://127.0.0.1:{port}"
    debate_file = write("debate.yaml", debate)
    cli = subprocess.run([SWARM, "run", debate_file, "--task", "handed over", "--server",
                          server_url], capture_output=True, text=True, timeout=60)
    check("swarm run --server runs the spec there and prints its answer", cli.returncode == 0 and
          cli.stdout.startswith("VERDICT") and "consensus in round 2" in cli.stderr,
          cli.stderr[-1500:])
    handed = [r for r in api.call("GET", "/v1/runs?limit=100")[1]["data"]
              if r["task"] == "handed over"]
    check("... and the server keeps the run", len(handed) == 1 and handed[0]["status"] == "done",
          handed)
    again = subprocess.run([SWARM, "run", "--resume", handed[0]["id"], "--server", server_url,
                            "-q"], capture_output=True, text=True, timeout=60)
    check("swarm run --resume ID --server answers a done run", again.returncode == 0 and
          again.stdout.startswith("VERDICT"), again.stderr[-800:])
    bad_file = write("bad.yaml", "name: bad\nagents: [{name: a, modl: 3}]\n")
    bad = subprocess.run([SWARM, "run", bad_file, "--task", "x", "--server", server_url],
                         capture_output=True, text=True, timeout=60)
    check("a spec the server refuses is exit 2 naming the problem", bad.returncode == 2 and
          "modl" in bad.stderr, bad.stderr[-800:])
    slow_file = write("slow.yaml", slow_spec)
    p = subprocess.Popen([SWARM, "run", slow_file, "--task", "interrupt me", "--server",
                          server_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(r["task"] == "interrupt me" for r in
                         api.call("GET", "/v1/runs?status=running")[1]["data"]), 10)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    gone = [r for r in api.call("GET", "/v1/runs?limit=100")[1]["data"]
            if r["task"] == "interrupt me"]
    check("SIGINT to swarm run --server cancels the run on the server", gone and
          gone[0]["status"] == "cancelled" and p.returncode != 0 and "cancelling" in err,
          (p.returncode, gone, err[-800:]))
    tls = subprocess.run([SWARM, "run", debate_file, "--task", "x", "--server",
                          "https://127.0.0.1:1"], capture_output=True, text=True, timeout=60)
    check("an https server URL is refused by name, exit 2", tls.returncode == 2 and
          "https" in tls.stderr, tls.stderr[-500:])
    nowhere = subprocess.run([SWARM, "run", debate_file, "--task", "x", "--server",
                              "http://127.0.0.1:1"], capture_output=True, text=True, timeout=60)
    check("a server that is not there is exit 1 naming it", nowhere.returncode == 1 and
          "127.0.0.1:1" in nowhere.stderr, nowhere.stderr[-500:])

    # -- SIGTERM with a live run, restart, resume -----------------------------------------------
    st, live = api.call("POST", "/v1/runs", {"swarm": "slow", "task": "survive a restart"})
    lid = live["id"]
    wait_for(lambda: api.call("GET", f"/v1/runs/{lid}/events")[1]["data"], 10)
    st, before = api.call("GET", f"/v1/runs/{lid}/events")
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait(60)
    check("SIGTERM stops the server with exit 0", rc == 0, log_of("serve")[-2000:])
    srv, port = serve(data, "serve2", ["--no-resume"])
    api = Api(port)
    st, body = api.call("GET", f"/v1/runs/{lid}")
    check("after the restart the run is interrupted", st == 200 and
          body["status"] == "interrupted", body)
    st, body = api.call("GET", "/v1/swarms")
    check("the swarms created through the API are served again",
          {"debate", "slow", "tools_demo"} <= {s["name"] for s in body["data"]}, body)
    st, body = api.call("POST", f"/v1/runs/{lid}/resume")
    check("POST /v1/runs/{id}/resume runs it again (202)", st == 202, body)
    ended = run_until(api, lid, {"done", "failed", "cancelled", "interrupted"}, 60)
    check("the resumed run finishes", ended and ended["status"] == "done", ended)
    st, after = api.call("GET", f"/v1/runs/{lid}/events")
    seqs = [e["run_seq"] for e in after["data"]]
    check("its events go on numbered after the restart, none twice",
          seqs == list(range(1, len(seqs) + 1)) and len(seqs) > len(before["data"]) and
          [e["kind"] for e in after["data"]].count("run_started") == 2, seqs)
    # A kill mid-run: the next start resumes it by itself.
    st, live = api.call("POST", "/v1/runs", {"swarm": "slow", "task": "survive a kill"})
    kid = live["id"]
    wait_for(lambda: api.call("GET", f"/v1/runs/{kid}/events")[1]["data"], 10)
    srv.send_signal(signal.SIGKILL)
    srv.wait(30)
    srv, port = serve(data, "serve3")
    api = Api(port)
    ended = run_until(api, kid, {"done", "failed", "cancelled"}, 60)
    check("a run killed with the server resumes by itself at the next start", ended and
          ended["status"] == "done", ended)
    check("... and the server says so", "resumed 1 interrupted run" in log_of("serve3"),
          log_of("serve3")[-500:])
    st, body = api.call("DELETE", "/v1/swarms/tools_demo")
    check("DELETE /v1/swarms/{name} stops it (204)", st == 204, body)
    st, body = api.call("GET", "/v1/swarms/tools_demo")
    check("... and it is gone", st == 404, body)
    st, body = api.call("DELETE", "/v1/swarms/tools_demo")
    check("deleting it again is 404", st == 404, body)
    srv.send_signal(signal.SIGTERM)
    srv.wait(60)

    # -- auth -----------------------------------------------------------------------------------
    secret = "s3cret-token-" + base64.b16encode(os.urandom(8)).decode()
    token_file = write("tokens", f"# who may call\nci {secret}\n")
    srv, port = serve(data, "auth", ["--token-file", token_file])
    anon = Api(port)
    st, body = anon.call("GET", "/v1/swarms")
    check("with a token file, no token is 401 and tells nothing else", st == 401 and
          body == {"error": {"code": "unauthorized",
                             "message": "a valid bearer token is required"}}, body)
    st, body = Api(port, secret + "x").call("GET", "/v1/swarms")
    check("a wrong token is 401", st == 401, body)
    st, body = Api(port, secret[:-1]).call("GET", "/healthz")
    check("a token's prefix is 401", st == 401, body)
    authed = Api(port, secret)
    st, body = authed.call("GET", "/v1/swarms")
    check("the right token gets in", st == 200 and body["data"], body)
    st, body, _ = anon.call("GET", "/", raw=True)
    check("the dashboard's page needs no token (it asks for one)", st == 200, body[:100])
    st, events = Api(port).sse(f"/v1/runs/{rid}/events?token={secret}")
    check("an event stream takes the token as ?token=", st == 200 and events, st)
    st, frames = ws_events(port, f"/v1/runs/{rid}/events")
    check("a WebSocket without a token is refused", st == 401, st)
    env = dict(os.environ, SWARM_TOKEN=secret)
    cli = subprocess.run([SWARM, "run", write("d2.yaml", debate), "--task", "with a token",
                          "--server", f"http://127.0.0.1:{port}", "-q"], capture_output=True,
                         text=True, timeout=60, env=env)
    check("swarm run --server sends SWARM_TOKEN", cli.returncode == 0 and
          cli.stdout.startswith("VERDICT"), cli.stderr[-500:])
    cli = subprocess.run([SWARM, "run", write("d3.yaml", debate), "--task", "no token",
                          "--server", f"http://127.0.0.1:{port}"], capture_output=True,
                         text=True, timeout=60)
    check("... and without it is refused with 401, exit 2", cli.returncode == 2 and
          "401" in cli.stderr, cli.stderr[-500:])
    srv.send_signal(signal.SIGTERM)
    srv.wait(60)
    check("the token never reaches the server's log", secret not in log_of("auth"))
    p = start(["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir",
               os.path.join(TMP, "open")], "open")
    rc = p.wait(30)
    check("serving beyond loopback without a token file is refused", rc != 0 and
          "--token-file" in log_of("open"), log_of("open"))
    bad_tokens = write("bad_tokens", "short\n")
    p = start(["serve", "--port", "0", "--token-file", bad_tokens, "--data-dir",
               os.path.join(TMP, "open")], "badtok")
    rc = p.wait(30)
    check("a token file with a too-short token is refused, naming file and line",
          rc != 0 and "bad_tokens:1" in log_of("badtok"), log_of("badtok"))


serve_harness.run(main, "serve_api_test")
