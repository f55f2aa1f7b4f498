-- wrk script of serve_load_test.sh: every request asks the served swarm "debate" through the
-- OpenAI facade (POST /v1/chat/completions), so each one is a whole run of the swarm.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model": "debate", "messages": [{"role": "user", "content": "Is 0.999... = 1?"}]}'
