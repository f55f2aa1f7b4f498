// Issue I, peers side by side: the `fanout` and `sequential` scenarios with a JS framework
// against `swarm mock-llm` (an OpenAI-compatible server). One parameter set per process, so the
// peak RSS is that set's. Prints one JSON object on stdout.
//
//   node peers.mjs --framework langgraph|agents|fetch --scenario fanout|sequential --n N
//                  --rounds R --base-url http://127.0.0.1:PORT/v1 --model mock [--latency-ms 20]
//                  [--out FILE]   (the JSON object to FILE instead of stdout)
//
// fanout: a coordinator sends N workers one task each; each worker makes one chat completion;
// the coordinator takes the majority vote over the N answers. The mock script (mock.yaml) answers
// "Paris" to workers whose number ends in 0-5 and "Lyon" to the others, so the vote is checked
// against the winner and counts expected from N (a wrong vote exits 1).
// sequential: one agent makes N chat completions one after another.
// Method: one warm-up round, then R timed rounds. CPU is process.cpuUsage() (user + system of
// the whole process, all its threads) over a round divided by the calls of that round; peak RSS
// is process.resourceUsage().maxRSS; added latency is each call's measured time minus the mock's
// fixed latency, p50/p99 over the calls of the timed rounds.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

function parseArgs(argv) {
  const out = { framework: '', scenario: '', n: 0, rounds: 5, baseUrl: '', model: 'mock',
                latencyMs: 20, out: '' };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const val = argv[i + 1];
    if (val === undefined) throw new Error(`${key} needs a value`);
    switch (key) {
      case '--framework': out.framework = val; break;
      case '--scenario': out.scenario = val; break;
      case '--n': out.n = Number(val); break;
      case '--rounds': out.rounds = Number(val); break;
      case '--base-url': out.baseUrl = val.replace(/\/+$/, ''); break;
      case '--model': out.model = val; break;
      case '--latency-ms': out.latencyMs = Number(val); break;
      case '--out': out.out = val; break;
      default: throw new Error(`unknown argument ${key}`);
    }
    i++;
  }
  if (!['langgraph', 'agents', 'fetch'].includes(out.framework))
    throw new Error('--framework langgraph|agents|fetch');
  if (!['fanout', 'sequential'].includes(out.scenario))
    throw new Error('--scenario fanout|sequential');
  if (!(Number.isInteger(out.n) && out.n > 0)) throw new Error('--n must be a positive integer');
  if (!(Number.isInteger(out.rounds) && out.rounds > 0))
    throw new Error('--rounds must be a positive integer');
  if (!out.baseUrl) throw new Error('--base-url is required (e.g. http://127.0.0.1:8089/v1)');
  return out;
}

const args = parseArgs(process.argv.slice(2));

function pkgVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

const workerPrompt = (i) => `worker ${i}: what is the capital of France?`;
const seqPrompt = (i) => `sequential call ${i}: say ok`;
const systemPrompt = (i) => `You are worker-${i}. Answer with one word.`;

function majority(answers) {
  const counts = new Map();
  for (const a of answers) {
    const key = String(a).trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let best = null;
  let bestCount = -1;
  for (const [k, c] of counts) {
    if (c > bestCount || (c === bestCount && k < best)) { best = k; bestCount = c; }
  }
  return { winner: best, votes: bestCount, counts: Object.fromEntries(counts) };
}

// What the mock script answers worker i (see mock.yaml).
function expectedVote(n) {
  let paris = 0;
  for (let i = 0; i < n; i++) if (i % 10 <= 5) paris++;
  const lyon = n - paris;
  return paris >= lyon ? { winner: 'Paris', votes: paris } : { winner: 'Lyon', votes: lyon };
}

// A coordinator that calls every worker at once and takes the vote; each call timed.
async function timedFanout(call, n) {
  const callUs = new Array(n);
  const answers = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const t0 = performance.now();
    const a = await call(i, workerPrompt(i));
    callUs[i] = (performance.now() - t0) * 1000;
    return a;
  }));
  return { answers, vote: majority(answers), callUs };
}

// Each framework gives: call(i, prompt) -> answer text (one agent, one chat completion), and
// fanout(n) -> {answers, vote, callUs}: the framework's own fan-out over n workers.
async function makeFetch() {
  const url = `${args.baseUrl}/chat/completions`;
  const headers = { 'content-type': 'application/json', authorization: 'Bearer mock' };
  const call = async (i, prompt) => {
    const res = await fetch(url, {
      method: 'POST', headers,
      body: JSON.stringify({ model: args.model, messages: [
        { role: 'system', content: systemPrompt(i) }, { role: 'user', content: prompt }] }),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    return body.choices[0].message.content;
  };
  // The coordinator: one call per worker, all in flight, then the vote.
  return { version: process.versions.node, call, fanout: (n) => timedFanout(call, n) };
}

async function makeLangGraph() {
  const { ChatOpenAI } = await import('@langchain/openai');
  const { StateGraph, Annotation, Send, START, END } = await import('@langchain/langgraph');
  const { createReactAgent } = await import('@langchain/langgraph/prebuilt');
  const { HumanMessage } = await import('@langchain/core/messages');
  const llm = new ChatOpenAI({ model: args.model, apiKey: 'mock',
                               configuration: { baseURL: args.baseUrl } });
  const agents = [];
  const agentFor = (i) => {
    // One ReAct agent per worker, made once (as a swarm keeps its agents across runs).
    while (agents.length <= i)
      agents.push(createReactAgent({ llm, tools: [], prompt: systemPrompt(agents.length),
                                     name: `worker-${agents.length}` }));
    return agents[i];
  };
  const call = async (i, prompt) => {
    const out = await agentFor(i).invoke({ messages: [new HumanMessage(prompt)] });
    return out.messages[out.messages.length - 1].content;
  };
  const State = Annotation.Root({
    n: Annotation(),
    answers: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
    callUs: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
    vote: Annotation(),
  });
  const WorkerState = Annotation.Root({ i: Annotation() });
  const graph = new StateGraph(State)
    .addNode('coordinator', () => ({}))
    .addNode('worker', async (s) => {
      const t0 = performance.now();
      const answer = await call(s.i, workerPrompt(s.i));
      return { answers: [answer], callUs: [(performance.now() - t0) * 1000] };
    }, { input: WorkerState })
    .addNode('tally', (s) => ({ vote: majority(s.answers) }))
    .addEdge(START, 'coordinator')
    .addConditionalEdges('coordinator',
                         (s) => Array.from({ length: s.n }, (_, i) => new Send('worker', { i })),
                         ['worker'])
    .addEdge('worker', 'tally')
    .addEdge('tally', END)
    .compile();
  for (let i = 0; i < args.n && args.scenario === 'fanout'; i++) agentFor(i);
  const fanout = async (n) => {
    const out = await graph.invoke({ n }, { recursionLimit: 100 });
    return { answers: out.answers, vote: out.vote, callUs: out.callUs };
  };
  return { version: `langgraph ${pkgVersion('@langchain/langgraph')}, openai ` +
                    `${pkgVersion('@langchain/openai')}, core ${pkgVersion('@langchain/core')}`,
           call, fanout };
}

async function makeAgents() {
  if (!process.env.OPENAI_API_KEY) process.env.OPENAI_API_KEY = 'mock';
  const { default: OpenAI } = await import('openai');
  const sdk = await import('@openai/agents');
  sdk.setDefaultOpenAIClient(new OpenAI({ baseURL: args.baseUrl, apiKey: 'mock' }));
  sdk.setOpenAIAPI('chat_completions');
  sdk.setTracingDisabled(true);
  const agents = [];
  const agentFor = (i) => {
    while (agents.length <= i)
      agents.push(new sdk.Agent({ name: `worker-${agents.length}`,
                                  instructions: systemPrompt(agents.length), model: args.model }));
    return agents[i];
  };
  for (let i = 0; i < args.n && args.scenario === 'fanout'; i++) agentFor(i);
  const call = async (i, prompt) => (await sdk.run(agentFor(i), prompt)).finalOutput;
  // The coordinator: one run() per worker agent, all in flight, then the vote.
  return { version: `agents ${pkgVersion('@openai/agents')}, openai ${pkgVersion('openai')}`,
           call, fanout: (n) => timedFanout(call, n) };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, min: s[0], max: s[s.length - 1], p50: q(0.5), p99: q(0.99) };
};
const r1 = (x) => Math.round(x * 10) / 10;

async function main() {
  const make = { fetch: makeFetch, langgraph: makeLangGraph, agents: makeAgents };
  const fw = await make[args.framework]();
  const expected = expectedVote(args.n);
  const oneRound = async () => {
    if (args.scenario === 'fanout') {
      const out = await fw.fanout(args.n);
      if (out.answers.length !== args.n)
        throw new Error(`fanout: ${out.answers.length} answers for ${args.n} workers`);
      if (out.vote.winner !== expected.winner || out.vote.votes !== expected.votes)
        throw new Error(`fanout: vote ${JSON.stringify(out.vote)}, expected ` +
                        JSON.stringify(expected));
      return { callUs: out.callUs, vote: out.vote };
    }
    const callUs = [];
    for (let i = 0; i < args.n; i++) {
      const t0 = performance.now();
      const a = await fw.call(0, seqPrompt(i));
      callUs.push((performance.now() - t0) * 1000);
      if (typeof a !== 'string' || a.length === 0) throw new Error(`sequential: empty answer ${i}`);
    }
    return { callUs };
  };
  await oneRound(); // warm-up: connections, JIT, lazy imports
  const wall = [], cpu = [], added = [];
  let vote;
  for (let r = 0; r < args.rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await oneRound();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    wall.push(wallMs);
    cpu.push((c.user + c.system) / args.n);
    for (const us of out.callUs) added.push(us - args.latencyMs * 1000);
    vote = out.vote;
  }
  const w = stats(wall), c = stats(cpu), a = stats(added);
  const record = {
    framework: args.framework, version: fw.version, node: process.versions.node,
    scenario: args.scenario, n: args.n, latency_ms: args.latencyMs, rounds: args.rounds,
    wall_ms: { median: r1(w.median), min: r1(w.min), max: r1(w.max) },
    cpu_us_per_call: { median: r1(c.median), min: r1(c.min), max: r1(c.max) },
    peak_rss_mb: r1(process.resourceUsage().maxRSS / 1024),
    added_latency_us: { p50: r1(a.p50), p99: r1(a.p99) },
    calls: args.n * (args.rounds + 1),
  };
  if (vote) record.vote = { winner: vote.winner, votes: vote.votes };
  if (args.out) writeFileSync(args.out, JSON.stringify(record) + '\n');
  else process.stdout.write(JSON.stringify(record) + '\n');
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`peers.mjs (${args.framework}, ${args.scenario}, n=${args.n}): ` +
                       `${e?.stack ?? e}\n`);
  process.exit(1);
});
