// The dashboard of `swarm serve` in a real browser (Debian's Chromium, driven by playwright-core).
// Usage: node dashboard_test.mjs SWARM_BINARY SOURCE_DIR ARTIFACT_DIR
//
// Starts `swarm mock-llm` with a script written here, then `swarm serve` against it with a token
// file, adds a two-agent swarm over HTTP and drives the dashboard: the token handed over in the
// address, a run started from the form followed to `done` in the live graph, a second run whose
// tool call waits for a human, approved from the dashboard, and a page without the token that
// must ask for it. Saves ARTIFACT_DIR/dashboard.png (the finished run); the servers' logs, the
// spec, the mock script and the data directory go to ARTIFACT_DIR/dashboard_test/.
// Every wait is bounded; both servers are killed however the test ends.
import {spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const TOTAL_TIMEOUT_MS = 180_000;
const STEP_TIMEOUT_MS = 30_000;

const [swarmBin, sourceDir, artifactArg] = process.argv.slice(2);
if (!swarmBin || !sourceDir || !artifactArg) {
  console.error('usage: node dashboard_test.mjs SWARM_BINARY SOURCE_DIR ARTIFACT_DIR');
  process.exit(2);
}
const artifactDir = path.resolve(artifactArg);
const workDir = path.join(artifactDir, 'dashboard_test'); // logs, spec, script, data directory
let chromium;
try {
  ({chromium} = await import('playwright-core'));
} catch (e) {
  console.error(`dashboard_test: playwright-core is not installed (${e.code || e.message}): ` +
      `run npm ci in ${path.dirname(new URL(import.meta.url).pathname)}`);
  console.log('dashboard_test: 0 passed, 1 failed');
  process.exit(1);
}
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

let passed = 0;
let failed = 0;
const children = [];
let browser = null;

function check(what, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok: ${what}`);
  } else {
    failed += 1;
    console.log(`FAILED: ${what}${detail ? `\n  ${detail}` : ''}`);
  }
  return ok;
}

class Fatal extends Error {}
function fatal(message) {
  throw new Fatal(message);
}

function killAll(signal) {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill(signal);
      } catch (_) {
        // already gone
      }
    }
  }
}
process.on('exit', () => killAll('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.log(`dashboard_test: ${sig}, stopping`);
    killAll('SIGKILL');
    process.exit(1);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(name, args) {
  const log = fs.openSync(path.join(workDir, `${name}.log`), 'w');
  const child = spawn(swarmBin, args, {stdio: ['ignore', log, log]});
  fs.closeSync(log);
  child.on('error', (e) => console.log(`${name}: ${e.message}`));
  children.push(child);
  child.name = name;
  return child;
}

function tail(name, lines = 20) {
  try {
    return fs.readFileSync(path.join(workDir, `${name}.log`), 'utf8').split('\n').slice(-lines).join('\n');
  } catch (_) {
    return '(no log)';
  }
}

async function waitForPort(file, child, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      fatal(`${child.name} exited (${child.exitCode ?? child.signalCode}) before writing its port:\n${tail(child.name)}`);
    }
    try {
      const text = fs.readFileSync(file, 'utf8').trim();
      if (/^\d+$/.test(text)) return Number(text);
    } catch (_) {
      // not yet
    }
    await sleep(50);
  }
  fatal(`${child.name} wrote no port to ${file} within ${timeoutMs / 1000} s:\n${tail(child.name)}`);
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = sleep(5000).then(() => 'timeout');
  if ((await Promise.race([gone, timer])) === 'timeout') {
    console.log(`${child.name} did not stop within 5 s of SIGTERM: killed`);
    child.kill('SIGKILL');
    await Promise.race([gone, sleep(2000)]);
  }
}

async function http(method, url, {token, body} = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, {method, headers, body, signal: AbortSignal.timeout(10_000)});
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (_) {
    // not JSON
  }
  return {status: res.status, text, json};
}

// -- the swarm and the mock's replies
// analyst: a plain answer, or (for a task that asks to count) a call of `shell`, which needs
// approval, then an answer from the tool's output; writer: the final report.
const SPEC = `name: dash
description: the dashboard's browser test
llm: {model: mock}
resources:
  prices:
    - {model: mock, prompt: 0.15, completion: 0.60}
tools:
  - name: shell
    needs_approval: true
    sandbox: {timeout_ms: 10000, memory_mb: 256}
swarm:
  architecture: sequential
agents:
  - name: analyst
    system_prompt: You are analyst. Use the shell tool when asked to count.
    tools: [shell]
    max_tool_steps: 3
  - name: writer
    system_prompt: You are writer. Report the analyst's finding in one sentence.
`;

const MOCK = `seed: 1
latency: {fixed_ms: 300}
rules:
  - match: {system: "^You are analyst", history: "tool: 4"}
    reply: "The sentence has 4 words."
  - match: {system: "^You are analyst", history: "tool: "}
    reply: "The tool gave no count."
  - match: {system: "^You are analyst", user: "count"}
    tool_calls:
      - {name: shell, arguments: {command: "echo one two three four | wc -w"}}
  - match: {system: "^You are analyst"}
    reply: "Analyst note on: {{user}}"
  - match: {system: "^You are writer", history: "4 words"}
    reply: "Final report: the sentence has 4 words."
  - match: {system: "^You are writer"}
    reply: "Final report: all checked."
`;

const DASHBOARD_FILES = [['/', 'index.html'], ['/index.html', 'index.html'], ['/app.js', 'app.js'], ['/style.css', 'style.css']];
const CONTENT_TYPES = {html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8'};

// With DASHBOARD_DIR set, the browser gets the dashboard's files from that directory instead of
// the server's embedded copy (to try a change without building the binary again).
async function overrideDashboard(context, base) {
  const dir = process.env.DASHBOARD_DIR;
  if (!dir) return;
  const files = new Map(DASHBOARD_FILES);
  await context.route((url) => url.origin === base && files.has(url.pathname), async (route) => {
    const file = files.get(new URL(route.request().url()).pathname);
    await route.fulfill({status: 200, contentType: CONTENT_TYPES[file.split('.').pop()],
      body: fs.readFileSync(path.join(dir, file))});
  });
}

async function statusText(page) {
  return (await page.locator('#run-status').textContent()) || '';
}

async function waitRunStatus(page, want, what) {
  try {
    await page.waitForFunction((w) => document.querySelector('#run-status')?.textContent === w, want,
        {timeout: STEP_TIMEOUT_MS, polling: 100});
    return check(`${what}: #run-status reads ${want}`, true);
  } catch (_) {
    return check(`${what}: #run-status reads ${want}`, false,
        `it reads '${await statusText(page)}'; status bar: ${await page.locator('#statusbar').textContent()}`);
  }
}

async function waitNodes(page, names, state, what) {
  const sel = names.map((n) => `#graph [data-agent="${n}"]${state ? `[data-state="${state}"]` : ''}`);
  try {
    await page.waitForFunction((s) => s.every((x) => document.querySelector(x)), sel,
        {timeout: STEP_TIMEOUT_MS, polling: 100});
    return check(what, true);
  } catch (_) {
    const got = await page.$$eval('#graph [data-agent]', (ns) => ns.map((n) => `${n.tagName}:${n.getAttribute('data-agent')}=${n.getAttribute('data-state')}`));
    return check(what, false, `nodes: ${got.join(', ') || 'none'}`);
  }
}

async function startRun(page, task) {
  await page.locator('#run-swarm').selectOption('dash', {timeout: STEP_TIMEOUT_MS});
  await page.locator('#run-task').fill(task, {timeout: STEP_TIMEOUT_MS});
  const before = (await page.locator('#run-id').textContent()) || '';
  await page.locator('#run-start').click({timeout: STEP_TIMEOUT_MS});
  try {
    await page.waitForFunction((b) => {
      const t = document.querySelector('#run-id')?.textContent || '';
      return t && t !== b && t !== 'none selected';
    }, before, {timeout: STEP_TIMEOUT_MS, polling: 100});
  } catch (_) {
    fatal(`starting a run from the form selected no new run (status bar: ${await page.locator('#statusbar').textContent()})`);
  }
  const id = (await page.locator('#run-id').textContent()) || '';
  check(`a run started from the form is selected (${id})`, id.length > 0);
  return id;
}

async function main() {
  fs.mkdirSync(workDir, {recursive: true});
  if (!fs.existsSync(swarmBin)) fatal(`no swarm binary at ${swarmBin}`);
  if (!fs.existsSync(chromiumPath)) {
    fatal(`no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM)`);
  }
  const specFile = path.join(workDir, 'dash.yaml');
  const mockFile = path.join(workDir, 'dash.mock.yaml');
  const tokenFile = path.join(workDir, 'token');
  const token = `e2e-${crypto.randomBytes(16).toString('hex')}`;
  fs.writeFileSync(specFile, SPEC);
  fs.writeFileSync(mockFile, MOCK);
  fs.writeFileSync(tokenFile, token, {mode: 0o600});
  const dataDir = path.join(workDir, 'state');
  fs.rmSync(dataDir, {recursive: true, force: true});
  for (const f of ['mock.port', 'serve.port']) fs.rmSync(path.join(workDir, f), {force: true});

  const mock = start('mock', ['mock-llm', '--port', '0', '--port-file', path.join(workDir, 'mock.port'),
    '--script', mockFile]);
  const mockPort = await waitForPort(path.join(workDir, 'mock.port'), mock, 10_000);
  const serve = start('serve', ['serve', '--host', '127.0.0.1', '--port', '0',
    '--port-file', path.join(workDir, 'serve.port'), '--data-dir', dataDir, '--token-file', tokenFile,
    '--llm-url', `http://127.0.0.1:${mockPort}/v1`]);
  const port = await waitForPort(path.join(workDir, 'serve.port'), serve, 20_000);
  const base = `http://127.0.0.1:${port}`;

  let health = null;
  for (let i = 0; i < 100; i += 1) {
    try {
      health = await http('GET', `${base}/healthz`, {token});
      if (health.status === 200) break;
    } catch (_) {
      // not yet
    }
    await sleep(100);
  }
  if (!health || health.status !== 200) fatal(`GET /healthz did not answer 200 within 10 s:\n${tail('serve')}`);

  // The dashboard's files, served without a token, as they are in the source tree (the binary
  // embeds them at build time).
  const dashDir = path.join(sourceDir, 'apps', 'dashboard');
  for (const [route, file] of DASHBOARD_FILES) {
    const got = await http('GET', `${base}${route}`);
    const want = fs.readFileSync(path.join(dashDir, file), 'utf8');
    const same = got.text === want || process.env.DASHBOARD_DIR !== undefined;
    check(`GET ${route} serves ${file} without a token`, got.status === 200 && same,
        got.status !== 200 ? `got ${got.status} ${got.text.slice(0, 200)}` : `${got.text.length} bytes served, ${want.length} in ${dashDir} (a stale build?)`);
  }
  const unauth = await http('GET', `${base}/v1/swarms`);
  check('the API refuses a request without the token (401)', unauth.status === 401, `got ${unauth.status} ${unauth.text}`);
  const added = await http('POST', `${base}/v1/swarms`, {token, body: SPEC});
  if (!check('POST /v1/swarms adds the swarm (201)', added.status === 201, `got ${added.status} ${added.text}`)) {
    fatal('the swarm could not be added');
  }

  browser = await chromium.launch({executablePath: chromiumPath, headless: true, args: ['--no-sandbox'], timeout: STEP_TIMEOUT_MS});
  const context = await browser.newContext({viewport: {width: 1400, height: 1000}});
  await overrideDashboard(context, base);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // the broken spec's 400 is expected; any other failed load or error is not
    const expected = m.text().includes('status of 400') && m.location().url === `${base}/v1/swarms`;
    if (m.type() === 'error' && !expected) pageErrors.push(`console: ${m.text()} (${m.location().url})`);
  });
  const external = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.host !== `127.0.0.1:${port}`) external.push(r.url());
  });

  // -- the token handed over in the address: kept, and taken out of the address bar
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`, {timeout: STEP_TIMEOUT_MS});
  await page.waitForFunction(() => !location.search.includes('token='), null, {timeout: 5000}).catch(() => {});
  check('the token is removed from the address', !page.url().includes('token='), page.url());
  const stored = await page.evaluate(() => Object.values(sessionStorage));
  check('the token is kept in sessionStorage', stored.includes(token), JSON.stringify(stored));
  try {
    await page.locator('#run-swarm option[value="dash"]').waitFor({state: 'attached', timeout: STEP_TIMEOUT_MS});
    check('the swarm is offered in #run-swarm', true);
  } catch (_) {
    fatal(`#run-swarm never offered 'dash' (status bar: ${await page.locator('#statusbar').textContent()})`);
  }
  check('the token prompt stays hidden with a good token', await page.locator('#token-prompt').isHidden());
  try {
    await page.locator('#swarms .swarm').filter({hasText: 'analyst'}).first().waitFor({timeout: STEP_TIMEOUT_MS});
    check('the swarms list shows the swarm with its agents', true);
  } catch (_) {
    check('the swarms list shows the swarm with its agents', false, await page.locator('#swarms').innerText());
  }

  // -- run 1: a plain run, followed live to done
  // The task carries markup: the page must show it as text, never run it.
  const XSS = '<img src=x onerror="window.__xss=1"><b>bold</b>';
  const run1 = await startRun(page, `hello from the browser ${XSS}`);
  await waitNodes(page, ['analyst', 'writer'], null, 'the graph shows a node per agent');
  check('the graph has a root node for the swarm', (await page.locator('#graph [data-swarm="dash"]').count()) === 1);
  await waitRunStatus(page, 'done', 'run 1');
  await waitNodes(page, ['analyst', 'writer'], 'done', 'run 1: both agent nodes are done');
  try {
    await page.locator('#run-answer').filter({hasText: 'Final report: all checked.'}).waitFor({timeout: 10_000});
    check('run 1: the answer is shown', true);
  } catch (_) {
    check('run 1: the answer is shown', false, await page.locator('#run-answer').innerText());
  }
  const kinds1 = await page.$$eval('#timeline tbody tr', (rows) => rows.map((r) => r.dataset.kind));
  check('run 1: the timeline has run_started .. run_finished', kinds1[0] === 'run_started' && kinds1.includes('run_finished'),
      kinds1.join(' '));
  check('run 1: the timeline has each LLM call', kinds1.filter((k) => k === 'llm_call_finished').length === 2, kinds1.join(' '));
  const xssRan = await page.evaluate(() => window.__xss !== undefined || document.querySelector('#run-view img, #runs img, #timeline b') !== null);
  const taskShown = await page.locator('#timeline tbody tr[data-kind="run_started"] td.what').textContent();
  check('markup in a task is shown as text, not run', !xssRan && (taskShown || '').includes(XSS), taskShown);
  const usage1 = await page.$$eval('#agent-usage tbody tr', (rows) => rows.map((r) => [r.dataset.agent, ...Array.from(r.cells).map((c) => c.textContent)]));
  const analystRow = usage1.find((r) => r[0] === 'analyst') || [];
  check('run 1: tokens and cost per agent', analystRow[2] === '1' && Number(String(analystRow[5]).replace(/,/g, '')) > 0 &&
      String(analystRow[6]).startsWith('$'), JSON.stringify(usage1));
  const run1Row = page.locator(`#runs .run[data-id="${run1}"]`);
  try {
    await run1Row.filter({hasText: 'done'}).waitFor({timeout: 10_000});
    check('run 1 is listed as done', true);
  } catch (_) {
    check('run 1 is listed as done', false, await page.locator('#runs').innerText());
  }

  // -- run 2: a tool call that waits for approval, approved from the dashboard
  const run2 = await startRun(page, 'please count the words');
  check('run 2 is another run', run2 !== run1);
  const row = page.locator('.approval[data-id]').first();
  try {
    await row.waitFor({timeout: STEP_TIMEOUT_MS});
    check('run 2: the waiting call is listed under approvals', true);
  } catch (_) {
    fatal(`no .approval row appeared (status ${await statusText(page)}; status bar: ${await page.locator('#statusbar').textContent()})`);
  }
  const rowText = await row.innerText();
  check('the approval row names swarm, agent, tool and arguments',
      ['dash', 'analyst', 'shell', 'wc -w'].every((s) => rowText.includes(s)), rowText);
  const waiting = await page.waitForFunction(
      () => document.querySelector('#graph [data-agent="analyst"]')?.getAttribute('data-waiting') === 'true', null,
      {timeout: 10_000, polling: 100}).then(() => true, () => false);
  check('run 2: the analyst node shows it waits for approval', waiting,
      `data-waiting=${await page.locator('#graph [data-agent="analyst"]').getAttribute('data-waiting')}`);
  check('run 2 runs while the call waits', (await statusText(page)) === 'running', await statusText(page));
  const approvalId = await row.getAttribute('data-id');
  await row.locator('button.approve').click({timeout: STEP_TIMEOUT_MS});
  try {
    await page.locator(`.approval[data-id="${approvalId}"]`).waitFor({state: 'detached', timeout: STEP_TIMEOUT_MS});
    check('the approved call leaves the approvals list', true);
  } catch (_) {
    check('the approved call leaves the approvals list', false, await page.locator('#approvals').innerText());
  }
  await waitRunStatus(page, 'done', 'run 2');
  await waitNodes(page, ['analyst', 'writer'], 'done', 'run 2: both agent nodes are done');
  try {
    await page.locator('#run-answer').filter({hasText: 'Final report: the sentence has 4 words.'}).waitFor({timeout: 10_000});
    check('run 2: the answer uses the approved tool\'s output', true);
  } catch (_) {
    check('run 2: the answer uses the approved tool\'s output', false, await page.locator('#run-answer').innerText());
  }
  const kinds2 = await page.$$eval('#timeline tbody tr', (rows) => rows.map((r) => r.dataset.kind));
  check('run 2: the timeline has the approval and the tool call',
      ['approval_waiting', 'tool_call_approved', 'tool_call_finished'].every((k) => kinds2.includes(k)), kinds2.join(' '));
  await page.screenshot({path: path.join(artifactDir, 'dashboard.png'), fullPage: true, animations: 'disabled'});

  // -- selecting the earlier run from the list replays its events
  await page.locator(`#runs .run[data-id="${run1}"]`).click({timeout: STEP_TIMEOUT_MS});
  await waitRunStatus(page, 'done', 'run 1 selected again');
  await waitNodes(page, ['analyst', 'writer'], 'done', 'run 1 selected again: its nodes are done');
  const kinds1b = await page.$$eval('#timeline tbody tr', (rows) => rows.map((r) => r.dataset.kind));
  check('run 1 selected again: the same timeline, no event twice', kinds1b.join(' ') === kinds1.join(' '),
      `${kinds1b.join(' ')}\n  vs ${kinds1.join(' ')}`);

  // -- the spec form: a swarm added, a broken spec refused with the server's reason
  await page.locator('#spec-details summary').click();
  await page.locator('#spec-text').fill(SPEC.replace('name: dash', 'name: dash_form'));
  await page.locator('#spec-submit').click();
  try {
    await page.locator('#run-swarm option[value="dash_form"]').waitFor({state: 'attached', timeout: STEP_TIMEOUT_MS});
    check('a spec submitted from the form adds its swarm', true);
  } catch (_) {
    check('a spec submitted from the form adds its swarm', false, await page.locator('#spec-result').textContent());
  }
  await page.locator('#spec-text').fill('name: broken\nagents: [\n');
  await page.locator('#spec-submit').click();
  const refused = await page.waitForFunction(() => {
    const r = document.querySelector('#spec-result');
    return r && r.dataset.ok === 'false' && r.textContent.includes('invalid_spec');
  }, null, {timeout: 10_000, polling: 100}).then(() => true, () => false);
  check('a broken spec is refused with the reason shown', refused, await page.locator('#spec-result').textContent());

  // -- a page without the token asks for it
  const context2 = await browser.newContext();
  await overrideDashboard(context2, base);
  const page2 = await context2.newPage();
  page2.on('pageerror', (e) => pageErrors.push(`page 2: ${e.message}`));
  await page2.goto(`${base}/`, {timeout: STEP_TIMEOUT_MS});
  try {
    await page2.locator('#token-prompt').waitFor({state: 'visible', timeout: STEP_TIMEOUT_MS});
    check('without a token the dashboard asks for one', true);
  } catch (_) {
    check('without a token the dashboard asks for one', false);
  }
  await page2.locator('#token-input').fill(token);
  await page2.locator('#token-save').click();
  try {
    await page2.locator('#run-swarm option[value="dash"]').waitFor({state: 'attached', timeout: STEP_TIMEOUT_MS});
    await page2.locator('#token-prompt').waitFor({state: 'hidden', timeout: 5000});
    check('a token typed into the prompt is used', true);
  } catch (_) {
    check('a token typed into the prompt is used', false, await page2.locator('#statusbar').textContent());
  }
  const stored2 = await page2.evaluate(() => Object.values(sessionStorage));
  check('the typed token is kept in sessionStorage', stored2.includes(token), JSON.stringify(stored2));

  check('no script error in the page', pageErrors.length === 0, pageErrors.join('\n  '));
  check('nothing fetched from another host', external.length === 0, external.join('\n  '));
}

const overall = setTimeout(() => {
  console.log(`FAILED: the test ran past ${TOTAL_TIMEOUT_MS / 1000} s`);
  killAll('SIGKILL');
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

let exitCode = 0;
try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`FAILED: ${e instanceof Fatal ? e.message : (e && e.stack) || e}`);
  if (!(e instanceof Fatal)) console.log(`serve log (tail):\n${tail('serve')}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const c of children.slice().reverse()) await stopChild(c);
  clearTimeout(overall);
}
if (failed > 0) {
  exitCode = 1;
  console.log(`logs: ${path.join(workDir, 'serve.log')}, ${path.join(workDir, 'mock.log')}`);
}
console.log(`dashboard_test: ${passed} passed, ${failed} failed`);
process.exit(exitCode);
