// The OpenAI facade of `swarm serve` driven by the official `openai` npm client: a swarm listed
// as a model, a completion and a streamed one (usage the whole swarm's), the client's own errors
// for a wrong token and an unknown model, and a swarm whose agent's endpoint is another swarm
// of the same server.
//   usage: node openai_facade_test.mjs SWARM_BINARY SOURCE_DIR
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let OpenAI;
try {
  ({ default: OpenAI } = await import("openai"));
} catch {
  console.error("openai_facade_test: the npm package `openai` is missing: run `npm ci` in tests/e2e");
  process.exit(2);
}

const [swarm, src] = process.argv.slice(2);
if (!swarm || !src) {
  console.error("usage: node openai_facade_test.mjs SWARM_BINARY SOURCE_DIR");
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), "openai_facade_test."));
const children = [];
let passed = 0;
let failed = 0;

function check(what, ok, detail = "") {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAILED: ${what}${detail ? "\n  " + detail : ""}`);
  }
}

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
}
process.on("exit", cleanup);

async function waitForFile(path, seconds) {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (existsSync(path) && readFileSync(path, "utf8").trim()) return readFileSync(path, "utf8").trim();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} did not appear within ${seconds} s`);
}

async function start(args, name) {
  const portFile = join(tmp, `${name}.port`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OPENAI_")));
  env.SWARM_TOKEN = token;
  const child = spawn(swarm, [...args, "--port", "0", "--port-file", portFile], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  children.push(child);
  try {
    return { port: Number(await waitForFile(portFile, 15)), log: () => log };
  } catch (e) {
    throw new Error(`${name} did not start: ${e.message}\n${log}`);
  }
}

const token = "facade-test-token-0123456789";
writeFileSync(join(tmp, "tokens"), `facade ${token}\n`);

try {
  const mock = await start(["mock-llm", "--script", join(src, "examples/debate.mock.yaml")], "mock");
  const llm = `http://127.0.0.1:${mock.port}/v1`;
  // Each spec names its endpoint: a server's --llm-url would override them all.
  const server = await start(
    ["serve", "--data-dir", join(tmp, "data"), "--token-file", join(tmp, "tokens")],
    "serve",
  );
  const base = `http://127.0.0.1:${server.port}/v1`;
  const debate = readFileSync(join(src, "examples/debate.yaml"), "utf8").replace(
    "\nllm:\n",
    `\nllm:\n  url: ${llm}\n`,
  );
  const created = await fetch(`${base}/swarms`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
    body: debate,
  });
  check("the debate swarm starts", created.status === 201, await created.text());

  const client = new OpenAI({ baseURL: base, apiKey: token, maxRetries: 0 });
  const models = await client.models.list();
  check("the swarm is listed as a model", models.data.some((m) => m.id === "debate"),
        JSON.stringify(models.data));

  const reply = await client.chat.completions.create({
    model: "debate",
    messages: [{ role: "user", content: "Is 0.999... equal to 1?" }],
  });
  const answer = reply.choices[0].message.content;
  check("a completion answers with the swarm's verdict", answer.startsWith("VERDICT: yes"), answer);
  check("its usage is the whole swarm's (six calls of the debate)",
        reply.usage.total_tokens > 500 && reply.usage.prompt_tokens > 0, JSON.stringify(reply.usage));
  check("its id names the run", reply.id.startsWith("chatcmpl-run-"), reply.id);

  const stream = await client.chat.completions.create({
    model: "debate",
    stream: true,
    stream_options: { include_usage: true },
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Is 0.999... equal to 1?" },
    ],
  });
  let text = "";
  let usage = null;
  let chunks = 0;
  let finish = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? "";
      finish = c.finish_reason ?? finish;
    }
  }
  check("a streamed completion arrives in chunks and joins to the verdict",
        chunks > 3 && text.startsWith("VERDICT: yes") && finish === "stop", `${chunks} ${text}`);
  check("... with the swarm's usage last", usage && usage.total_tokens > 500, JSON.stringify(usage));

  const wrong = new OpenAI({ baseURL: base, apiKey: token + "x", maxRetries: 0 });
  try {
    await wrong.models.list();
    check("a wrong token is refused", false);
  } catch (e) {
    check("a wrong token is the client's AuthenticationError (401)",
          e instanceof OpenAI.AuthenticationError && e.status === 401, String(e));
  }
  try {
    await client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] });
    check("an unknown model is refused", false);
  } catch (e) {
    check("an unknown model is the client's NotFoundError with code model_not_found",
          e instanceof OpenAI.NotFoundError && e.code === "model_not_found", String(e));
  }

  // A swarm whose one agent's endpoint is the debate swarm of the same server.
  const asker = [
    "name: asker",
    "llm:",
    `  url: ${base}`,
    "  model: debate",
    "  api_key_env: SWARM_TOKEN",
    "swarm: {architecture: sequential}",
    "agents:",
    "  - name: relay",
    "    system_prompt: You pass the question on.",
    "",
  ].join("\n");
  const made = await fetch(`${base}/swarms`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
    body: asker,
  });
  check("a swarm whose endpoint is this server starts", made.status === 201, await made.text());
  const run = await fetch(`${base}/runs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
    body: JSON.stringify({ swarm: "asker", task: "Is 0.999... equal to 1?", wait: true }),
  }).then((r) => r.json());
  check("... and its run is answered by the other swarm",
        run.status === "done" && run.result.text.startsWith("VERDICT: yes"), JSON.stringify(run));
  check("the token never reaches the server's log", !server.log().includes(token));
} catch (e) {
  failed++;
  console.log(`FAILED: ${e.stack ?? e}`);
} finally {
  cleanup();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`openai_facade_test: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
