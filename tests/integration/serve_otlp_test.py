#!/usr/bin/env python3
"""`swarm serve --otlp URL`: a run of examples/debate.yaml reaches a stand-in OTLP/HTTP receiver
as one trace (a run span, a span per member task and per LLM call, every parent received, times
nested), and with the receiver gone runs still complete, with one warning line per failure streak.

usage: serve_otlp_test.py SWARM SOURCE_DIR
"""
import hashlib
import http.client
import http.server
import json
import os
import signal
import subprocess
import threading
import time

import serve_harness
from serve_harness import SRC, TMP, check, log_of, read_port, start, wait_for


def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=json.dumps(body) if body is not None else None)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records every POSTed export request: (path, content type, body as JSON)."""
    posts = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Receiver.lock:
            Receiver.posts.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def received_spans():
    with Receiver.lock:
        posts = list(Receiver.posts)
    out = []
    for _, _, body in posts:
        for rs in body.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    out.append((rs, s))
    return out


def attr(span, key):
    for a in span.get("attributes", []):
        if a["key"] == key:
            v = a["value"]
            return v.get("stringValue", v.get("intValue", v.get("boolValue")))
    return None


def main():
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    rport = receiver.server_address[1]
    threading.Thread(target=receiver.serve_forever, daemon=True).start()

    mock_port_file = os.path.join(TMP, "mock.port")
    start(["mock-llm", "--port", "0", "--port-file", mock_port_file, "--script",
           os.path.join(SRC, "examples/debate.mock.yaml")], "mock")
    llm = f"http://127.0.0.1:{read_port(mock_port_file, 'mock')}/v1"

    bad = start(["serve", "--port", "0", "--data-dir", os.path.join(TMP, "bad"), "--otlp",
                 "https://collector.example/v1/traces"], "bad")
    check("--otlp with an https URL is refused before serving", bad.wait(30) != 0 and
          "--otlp" in log_of("bad"), log_of("bad"))

    port_file = os.path.join(TMP, "serve.port")
    url = f"http://127.0.0.1:{rport}/v1/traces"
    srv = start(["serve", "--port", "0", "--port-file", port_file, "--data-dir",
                 os.path.join(TMP, "data"), "--llm-url", llm, "--otlp", url,
                 os.path.join(SRC, "examples/debate.yaml")], "serve")
    port = read_port(port_file, "serve")

    st, run = call(port, "POST", "/v1/runs", {"swarm": "debate", "task": "Is 0.999... = 1?",
                                              "wait": True})
    check("the run ends done", st == 200 and run["status"] == "done", run)
    rid = run["id"]
    st, page = call(port, "GET", f"/v1/runs/{rid}/events")
    events = page["data"]
    member_tasks = sorted(e["task_id"] for e in events if e["kind"] == "member_started")
    llm_calls = [e for e in events if e["kind"] == "llm_call_finished"]
    trace = hashlib.sha256(rid.encode()).hexdigest()[:32]

    def run_span_arrived():
        return any(s["traceId"] == trace and s["name"].startswith("run ")
                   for _, s in received_spans())
    check("the run's span arrives within 10 s (batches go every second)",
          wait_for(run_span_arrived, 10), received_spans())
    with Receiver.lock:
        posts = list(Receiver.posts)
    check("every export is a POST of JSON to the URL's path",
          posts and all(p == "/v1/traces" and t == "application/json" for p, t, _ in posts),
          [(p, t) for p, t, _ in posts])
    all_spans = received_spans()
    check("the resource is service.name smolswarms",
          all(rs["resource"]["attributes"] == [{"key": "service.name",
                                                "value": {"stringValue": "smolswarms"}}]
              for rs, _ in all_spans), all_spans[:1])
    spans = [s for _, s in all_spans if s["traceId"] == trace]
    check("all the run's spans are in one trace, the SHA-256 of its id",
          len(spans) == len(all_spans) and spans, [s["traceId"] for _, s in all_spans])
    by_id = {s["spanId"]: s for s in spans}
    check("span ids are 16 hex digits, none twice",
          len(by_id) == len(spans) and all(len(i) == 16 and int(i, 16) for i in by_id))
    runs = [s for s in spans if s["name"].startswith("run ")]
    check("one run span, named after the swarm, without a parent, with the run's attributes",
          len(runs) == 1 and runs[0]["name"] == "run debate" and not runs[0].get("parentSpanId")
          and attr(runs[0], "smolswarms.run.id") == rid and
          attr(runs[0], "smolswarms.run.status") == "done" and
          attr(runs[0], "smolswarms.swarm") == "debate" and
          runs[0]["status"].get("code", 0) == 0, runs)
    members = [s for s in spans if s["name"].startswith("member ")]
    check("a member span per member task", len(member_tasks) >= 6 and
          sorted(attr(s, "smolswarms.task_id") for s in members) == member_tasks,
          (member_tasks, [attr(s, "smolswarms.task_id") for s in members]))
    chats = [s for s in spans if s["name"].startswith("chat ")]
    check("an LLM span per LLM call, with model and tokens",
          len(chats) == len(llm_calls) == int(attr(runs[0], "smolswarms.llm_calls")) and
          all(attr(s, "gen_ai.request.model") == "gpt-4o-mini" for s in chats) and
          sum(int(attr(s, "gen_ai.usage.input_tokens")) for s in chats) ==
          sum(e["usage"]["prompt_tokens"] for e in llm_calls),
          (len(chats), len(llm_calls), chats[:1]))
    check("nothing else", len(spans) == 1 + len(members) + len(chats),
          sorted(s["name"] for s in spans))
    orphans = [s for s in spans if s.get("parentSpanId") and s["parentSpanId"] not in by_id]
    check("every parent is a received span", not orphans, orphans)
    members_by_task = {attr(s, "smolswarms.task_id"): s for s in members}
    wrong = [s for s in members
             if s["parentSpanId"] != runs[0]["spanId"]]  # debate: every member under the run
    wrong += [s for s in chats
              if s["parentSpanId"] != members_by_task[attr(s, "smolswarms.task_id")]["spanId"]]
    check("members hang under the run, each LLM call under its member's task", not wrong, wrong)
    unordered = []
    for s in spans:
        a, b = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
        p = by_id.get(s.get("parentSpanId", ""))
        if not a <= b or (p and not int(p["startTimeUnixNano"]) <= a <= b <=
                          int(p["endTimeUnixNano"])):
            unordered.append(s)
    check("every span starts before it ends, within its parent", not unordered, unordered)

    # -- the receiver gone ------------------------------------------------------------------
    receiver.shutdown()
    receiver.server_close()
    for i in range(2):
        st, run = call(port, "POST", "/v1/runs", {"swarm": "debate", "task": f"again {i}",
                                                  "wait": True})
        check(f"with the receiver gone, run {i + 1} still ends done",
              st == 200 and run["status"] == "done", run)
        time.sleep(1.5)  # a batch goes (and fails) each second
    warnings = [l for l in log_of("serve").splitlines() if "cannot export traces" in l]
    check("one warning line for the streak of failures", len(warnings) == 1, log_of("serve"))
    srv.send_signal(signal.SIGTERM)
    try:
        rc = srv.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    check("SIGTERM still stops the server promptly, exit 0", rc == 0, log_of("serve")[-2000:])


serve_harness.run(main, "serve_otlp_test")
