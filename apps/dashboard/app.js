// The `swarm serve` dashboard: swarms, runs, approvals and the selected run as a live graph.
// Plain ES2020, no dependencies. It uses only the public HTTP API (/v1/...) and the SSE event
// stream of a run. Every piece of data goes into the page through textContent or attributes,
// never as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'smolswarms.token';
  const SWARMS_EVERY_MS = 2000;
  const RUNS_EVERY_MS = 2000;
  const APPROVALS_EVERY_MS = 1000;
  const TIMELINE_MAX_ROWS = 2000;
  const SWARM_DETAILS_MAX = 20; // GET /v1/swarms/{name} for at most this many swarms a refresh
  const FLASH_MS = 600;
  const GRAPH_MAX_NODES = 96; // agents drawn; the rest are counted on the root node
  const CARD_MAX_AGENTS = 12; // agents listed on a swarm's card
  const RUN_MAX_SWARM_AGENTS = 500; // agents of the swarm object listed before any event names them
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const EVENT_KINDS = [
    'run_started', 'run_finished', 'member_started', 'member_finished', 'member_failed',
    'member_skipped', 'member_cancelled', 'member_restarted', 'llm_call_started',
    'llm_call_finished', 'llm_token', 'llm_fallback', 'tool_call_requested', 'approval_waiting',
    'tool_call_approved', 'tool_call_rejected', 'tool_call_finished', 'decision_made',
    'budget_warning', 'budget_exhausted', 'memory_written', 'health_checked', 'input_repaired',
  ];
  const TERMINAL = new Set(['done', 'failed', 'cancelled', 'interrupted', 'budget_exhausted']);

  const $ = (sel) => document.querySelector(sel);

  // ---------------------------------------------------------------- small DOM helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = String(v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    }
    return node;
  }

  function setText(node, text) {
    const t = String(text);
    if (node.textContent !== t) node.textContent = t;
  }

  // Keeps container's children in the order of items, one per key: new keys get create(item),
  // present ones update(node, item), vanished ones are removed. Rows a user is about to click
  // stay the same elements across refreshes.
  function reconcile(container, items, key, create, update, emptyText) {
    const existing = new Map();
    for (const child of Array.from(container.children)) {
      if (child.dataset && child.dataset.key !== undefined) existing.set(child.dataset.key, child);
      else child.remove();
    }
    let prev = null;
    for (const item of items) {
      const k = String(key(item));
      let node = existing.get(k);
      if (node) existing.delete(k);
      else {
        node = create(item);
        node.dataset.key = k;
      }
      update(node, item);
      const want = prev ? prev.nextSibling : container.firstChild;
      if (want !== node) container.insertBefore(node, want);
      prev = node;
    }
    for (const node of existing.values()) node.remove();
    if (items.length === 0 && emptyText) container.append(el('p', {class: 'empty', text: emptyText}));
  }

  function shorten(text, max) {
    const s = String(text).replace(/\s+/g, ' ').trim();
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  }

  function fmtInt(n) {
    return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : '—';
  }

  function fmtCost(c) {
    if (c === null || c === undefined || !Number.isFinite(c)) return '—';
    if (c === 0) return '$0';
    return c < 0.01 ? '$' + c.toFixed(6) : '$' + c.toFixed(4);
  }

  function fmtTimeUs(us) {
    if (typeof us !== 'number') return '';
    const d = new Date(us / 1000);
    const p = (n, w) => String(n).padStart(w, '0');
    return `${p(d.getHours(), 2)}:${p(d.getMinutes(), 2)}:${p(d.getSeconds(), 2)}.${p(d.getMilliseconds(), 3)}`;
  }

  function fmtMs(ms) {
    if (typeof ms !== 'number' || ms <= 0) return '';
    return new Date(ms).toLocaleString();
  }

  function argumentsText(args) {
    if (args === undefined || args === null) return '';
    if (typeof args === 'string') {
      try {
        return JSON.stringify(JSON.parse(args), null, 2);
      } catch (_) {
        return args;
      }
    }
    try {
      return JSON.stringify(args, null, 2);
    } catch (_) {
      return String(args);
    }
  }

  // Runs fn once before the next frame however often it is asked for until then (a burst of
  // events redraws the graph once).
  const pending = new Set();
  function later(fn) {
    if (pending.has(fn)) return;
    pending.add(fn);
    requestAnimationFrame(() => {
      pending.delete(fn);
      fn();
    });
  }

  // ---------------------------------------------------------------- status bar

  const problems = new Map(); // source -> message

  function report(source, error) {
    if (error && error.status === 401) {
      // one line for every request the missing token stops
      problems.delete(source);
      problems.set('token', 'this server needs a valid token');
    } else if (error) {
      problems.set(source, error instanceof Error ? error.message : String(error));
    } else {
      problems.delete(source);
    }
    const bar = $('#statusbar');
    if (problems.size === 0) {
      bar.dataset.ok = 'true';
      setText(bar, 'connected · ' + new Date().toLocaleTimeString());
    } else {
      bar.dataset.ok = 'false';
      const parts = [];
      for (const [src, msg] of problems) parts.push(`${src}: ${msg}`);
      setText(bar, parts.join(' · '));
    }
  }

  // ---------------------------------------------------------------- token and API

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (_) {
      return '';
    }
  }

  function saveToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      // storage refused (private mode): the token lives only as long as the page
    }
    memoryToken = t;
  }

  let memoryToken = '';
  const currentToken = () => token() || memoryToken;

  // A `?token=T` in the page's address is taken once, kept in sessionStorage and removed from
  // the address bar (and so from history and bookmarks).
  function takeTokenFromUrl() {
    const url = new URL(window.location.href);
    if (!url.searchParams.has('token')) return;
    saveToken(url.searchParams.get('token') || '');
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }

  function showTokenPrompt(show) {
    const prompt = $('#token-prompt');
    if (show && prompt.hidden) {
      prompt.hidden = false;
      $('#token-input').value = '';
      $('#token-input').focus();
    } else if (!show) {
      prompt.hidden = true;
    }
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function apiUrl(path) {
    return new URL(path.replace(/^\//, ''), document.baseURI).toString();
  }

  async function api(method, path, body) {
    const headers = {Accept: 'application/json'};
    const t = currentToken();
    if (t) headers.Authorization = 'Bearer ' + t;
    const init = {method, headers, cache: 'no-store'};
    if (body !== undefined) {
      if (typeof body === 'string') {
        headers['Content-Type'] = 'text/plain; charset=utf-8';
        init.body = body;
      } else {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
    }
    let res;
    try {
      res = await fetch(apiUrl(path), init);
    } catch (e) {
      throw new ApiError(0, 'network', `${method} ${path}: the server did not answer (${e.message})`);
    }
    if (res.status === 401) {
      // A request sent with an older token says nothing about the one just typed in.
      if (currentToken() === t) showTokenPrompt(true);
      throw new ApiError(401, 'unauthorized', `${method} ${path}: a valid token is needed`);
    }
    let data = null;
    const text = await res.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code || 'http_' + res.status,
          `${method} ${path}: ${res.status} ${err.code || ''} ${err.message || shorten(text, 200)}`.trim());
    }
    return data;
  }

  // ---------------------------------------------------------------- pollers

  // Runs fn now and then every `every` ms after each run ends (never two at once); errors go to
  // the status bar under `name`.
  function poll(name, every, fn) {
    const state = {timer: 0};
    const tick = async () => {
      clearTimeout(state.timer);
      try {
        await fn();
        report(name, null);
      } catch (e) {
        report(name, e);
      }
      state.timer = setTimeout(tick, every);
    };
    state.now = tick;
    tick();
    return state;
  }

  // ---------------------------------------------------------------- swarms

  const swarmDetails = new Map(); // name -> last GET /v1/swarms/{name}

  function renderSwarmCard(node, s) {
    const d = swarmDetails.get(s.name) || s;
    node.replaceChildren();
    const health = d.health ? `${d.health.alive} of ${d.health.total} alive` : '';
    const head = el('div', {class: 'row-head'},
        el('strong', {text: s.name}),
        el('span', {class: 'tag', text: s.architecture || ''}),
        health ? el('span', {class: 'tag', 'data-healthy': d.health.alive === d.health.total ? 'true' : 'false', text: health}) : null);
    const usage = d.usage || {};
    const meta = el('div', {class: 'note', text:
        `${fmtInt(usage.total_tokens)} tokens · ${fmtInt(usage.calls)} calls · ` +
        `${d.cost_known === false ? 'cost unknown' : fmtCost(d.cost_usd)} · ${fmtInt(d.runs_active || 0)} active runs`});
    const agents = el('ul', {class: 'agents'});
    const all = d.agents || [];
    for (const a of all.slice(0, CARD_MAX_AGENTS)) {
      const u = a.usage || {};
      agents.append(el('li', {'data-alive': a.alive === undefined ? null : String(a.alive)},
          el('span', {class: 'dot'}),
          el('span', {class: 'agent-name', text: a.name}),
          el('span', {class: 'note', text: ` ${fmtInt(u.total_tokens)} tok` +
              (d.cost_known === false ? '' : ` · ${fmtCost(a.cost_usd)}`)})));
    }
    if (all.length > CARD_MAX_AGENTS) agents.append(el('li', {class: 'note', text: `and ${all.length - CARD_MAX_AGENTS} more`}));
    node.append(head, meta, agents);
  }

  async function refreshSwarms() {
    const list = await api('GET', '/v1/swarms');
    const swarms = (list && Array.isArray(list.data)) ? list.data : [];
    const names = new Set(swarms.map((s) => s.name));
    for (const k of Array.from(swarmDetails.keys())) if (!names.has(k)) swarmDetails.delete(k);
    const detailErrors = [];
    await Promise.all(swarms.slice(0, SWARM_DETAILS_MAX).map(async (s) => {
      try {
        swarmDetails.set(s.name, await api('GET', '/v1/swarms/' + encodeURIComponent(s.name)));
      } catch (e) {
        if (e.status !== 404) detailErrors.push(e.message);
      }
    }));
    reconcile($('#swarms'), swarms, (s) => s.name, () => el('div', {class: 'swarm card'}),
        renderSwarmCard, 'No swarms yet: add one below.');
    updateSwarmSelect(swarms.map((s) => s.name));
    if (detailErrors.length) throw new Error(detailErrors[0]);
  }

  function updateSwarmSelect(names) {
    const select = $('#run-swarm');
    const chosen = select.value;
    reconcile(select, names, (n) => n, (n) => el('option', {value: n, text: n}), () => {});
    if (names.includes(chosen)) select.value = chosen;
    $('#run-start').disabled = names.length === 0;
  }

  async function submitSpec(ev) {
    ev.preventDefault();
    const text = $('#spec-text').value;
    const out = $('#spec-result');
    if (!text.trim()) {
      setText(out, 'The spec is empty.');
      return;
    }
    const replace = $('#spec-replace').checked ? '?replace=true' : '';
    $('#spec-submit').disabled = true;
    try {
      const s = await api('POST', '/v1/swarms' + replace, text);
      out.dataset.ok = 'true';
      setText(out, `Swarm ${s && s.name ? s.name : ''} is running.`);
      swarmsPoller.now();
    } catch (e) {
      out.dataset.ok = 'false';
      setText(out, e.message);
    } finally {
      $('#spec-submit').disabled = false;
    }
  }

  // ---------------------------------------------------------------- runs list

  async function refreshRuns() {
    const sentAt = performance.now();
    const list = await api('GET', '/v1/runs?limit=50');
    const runs = (list && Array.isArray(list.data)) ? list.data : [];
    reconcile($('#runs'), runs, (r) => r.id, (r) => {
      const row = el('button', {type: 'button', class: 'run row', 'data-id': r.id});
      row.addEventListener('click', () => selectRun(r.id));
      return row;
    }, (row, r) => {
      row.dataset.status = r.status || '';
      row.classList.toggle('selected', !!current && current.id === r.id);
      const sig = JSON.stringify([r.id, r.swarm, r.status, r.task]);
      if (row.dataset.sig === sig) return;
      row.dataset.sig = sig;
      row.replaceChildren(
          el('span', {class: 'status', 'data-status': r.status || '', text: r.status || ''}),
          el('span', {class: 'run-swarm-name', text: r.swarm || ''}),
          el('span', {class: 'run-task', text: shorten(r.task || '', 80)}),
          el('span', {class: 'run-id note', text: r.id}));
    }, 'No runs yet.');
    if (current) {
      const r = runs.find((x) => x.id === current.id);
      if (r) applyRunObject(r, sentAt);
    }
  }

  async function startRun(ev) {
    ev.preventDefault();
    const swarm = $('#run-swarm').value;
    const task = $('#run-task').value;
    if (!swarm) {
      report('start', 'choose a swarm first');
      return;
    }
    if (!task.trim()) {
      report('start', 'the task is empty');
      return;
    }
    $('#run-start').disabled = true;
    try {
      const run = await api('POST', '/v1/runs', {swarm, task, wait: false});
      report('start', null);
      if (run && run.id) selectRun(run.id, run);
      runsPoller.now();
    } catch (e) {
      report('start', e);
    } finally {
      $('#run-start').disabled = false;
    }
  }

  // ---------------------------------------------------------------- the selected run

  let current = null;

  function newRunState(id) {
    return {
      id,
      swarm: '',
      status: '',
      source: null, // EventSource
      reopenTimer: 0,
      lastSeq: 0,
      finished: false, // run_finished seen
      finishedAt: 0, // performance.now() when it was
      failures: 0, // stream errors since the last event
      agents: new Map(), // name -> {state, active, waiting, usage, cost, costKnown}
      order: [],
      rows: 0,
      layoutKey: '',
      nodes: new Map(), // name -> {g, edge, sub}
      parent: new Map(), // agent -> the sub-swarm it belongs to (from task ids)
      taskAgent: new Map(), // task id -> {name, leaf}
      flashTimers: new Map(),
    };
  }

  function selectRun(id, runObject) {
    if (current && current.id === id) {
      if (runObject) applyRunObject(runObject);
      return;
    }
    closeRun();
    current = newRunState(id);
    const run = current;
    if (window.location.hash !== '#run=' + encodeURIComponent(id)) {
      history.replaceState(history.state, '', '#run=' + encodeURIComponent(id));
    }
    setText($('#run-id'), id);
    $('#graph-empty').hidden = true;
    setStatus('');
    setText($('#run-meta'), '');
    setAnswer(null);
    $('#timeline tbody').replaceChildren();
    setText($('#timeline-count'), '0');
    renderUsage();
    renderGraph();
    for (const row of document.querySelectorAll('#runs .run')) {
      row.classList.toggle('selected', row.dataset.id === id);
    }
    if (runObject) applyRunObject(runObject);
    loadRun(run);
    openEvents(run);
  }

  function closeRun() {
    if (!current) return;
    clearTimeout(current.reopenTimer);
    if (current.source) current.source.close();
    for (const t of current.flashTimers.values()) clearTimeout(t);
    current.source = null;
  }

  async function loadRun(run) {
    try {
      const sentAt = performance.now();
      const r = await api('GET', '/v1/runs/' + encodeURIComponent(run.id));
      if (current !== run) return;
      applyRunObject(r, sentAt);
      report('run', null);
    } catch (e) {
      if (current === run) report('run', e);
    }
  }

  // r: a run object from a request sent at sentAt (performance.now()): an answer sent before
  // run_finished arrived cannot say the run runs again.
  function applyRunObject(r, sentAt = performance.now()) {
    const run = current;
    if (!run || !r || r.id !== run.id) return;
    if (r.swarm && run.swarm !== r.swarm) {
      run.swarm = r.swarm;
      loadSwarmAgents(run);
    }
    const meta = [];
    if (r.swarm) meta.push('swarm ' + r.swarm);
    if (r.started_ms) meta.push('started ' + fmtMs(r.started_ms));
    if (r.finished_ms) meta.push('finished ' + fmtMs(r.finished_ms));
    if (r.task) meta.push('task: ' + shorten(r.task, 200));
    setText($('#run-meta'), meta.join(' · '));
    if (r.status) {
      const wasTerminal = TERMINAL.has(run.status);
      // The event stream is the fresher source while it runs; a poll may still say "running"
      // for a moment after run_finished arrived. A terminal run that runs again (resumed)
      // gets its stream reopened.
      if (r.status === 'running' && wasTerminal && run.finished) {
        if (!run.source && sentAt > run.finishedAt) {
          run.finished = false;
          setStatus('running');
          openEvents(run);
        }
      } else if (!(r.status === 'running' && run.finished)) {
        setStatus(r.status);
      }
    }
    if (r.result && r.result.text && TERMINAL.has(r.status) && $('#run-answer').classList.contains('empty')) {
      setAnswer(r.result.text, r.result.agent);
    }
    if (r.error && TERMINAL.has(r.status)) setRunError(r.error);
    if (TERMINAL.has(r.status)) stopActivity();
  }

  async function loadSwarmAgents(run) {
    try {
      const s = await api('GET', '/v1/swarms/' + encodeURIComponent(run.swarm));
      if (current !== run) return;
      for (const a of ((s && s.agents) || []).slice(0, RUN_MAX_SWARM_AGENTS)) agentState(run, a.name);
      renderGraph();
      renderUsage();
    } catch (e) {
      // a swarm deleted since: the events still name its agents
      if (current === run && e.status !== 404) report('run', e);
    }
  }

  function setStatus(status) {
    const node = $('#run-status');
    setText(node, status || '—');
    node.dataset.status = status || '';
    if (current) current.status = status;
    $('#run-cancel').hidden = status !== 'running';
    $('#run-resume').hidden = !(status === 'failed' || status === 'interrupted' || status === 'cancelled' || status === 'budget_exhausted');
    const root = document.querySelector('#graph g.root');
    if (root) root.setAttribute('data-state', rootState(status));
  }

  function rootState(status) {
    if (!status) return 'pending';
    if (status === 'running') return 'running';
    if (status === 'done') return 'done';
    if (status === 'cancelled' || status === 'interrupted') return 'cancelled';
    return 'failed';
  }

  function setAnswer(text, agent) {
    const box = $('#run-answer');
    if (text === null || text === undefined) {
      box.classList.add('empty');
      box.replaceChildren(el('span', {text: 'No answer yet.'}));
      return;
    }
    box.classList.remove('empty');
    box.replaceChildren();
    if (agent) box.append(el('div', {class: 'note', text: 'from ' + agent}));
    box.append(el('div', {class: 'answer-text', text}));
  }

  function setRunError(error) {
    const box = $('#run-answer');
    if (box.querySelector('.run-error')) return;
    if (box.classList.contains('empty')) {
      box.classList.remove('empty');
      box.replaceChildren();
    }
    box.append(el('div', {class: 'run-error', text: `${error.code || 'error'}: ${error.message || ''}`}));
  }

  // -- events

  function openEvents(run) {
    if (run.finished || current !== run) return;
    const params = new URLSearchParams({stream: 'sse'});
    if (run.lastSeq > 0) params.set('after', String(run.lastSeq));
    const t = currentToken();
    if (t) params.set('token', t);
    const src = new EventSource(apiUrl('/v1/runs/' + encodeURIComponent(run.id) + '/events?' + params));
    run.source = src;
    const handler = (msg) => {
      if (current !== run) return;
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch (_) {
        report('events', 'an event that is not JSON');
        return;
      }
      const seq = Number(ev.run_seq || msg.lastEventId || 0);
      if (seq && seq <= run.lastSeq) return; // already seen (a replayed backlog)
      if (seq) run.lastSeq = seq;
      run.failures = 0;
      try {
        onEvent(run, ev);
      } catch (e) {
        report('events', e);
      }
    };
    for (const kind of EVENT_KINDS) src.addEventListener(kind, handler);
    src.addEventListener('message', handler); // an event without `event:`
    src.addEventListener('open', () => {
      if (current === run) report('events', null);
    });
    src.addEventListener('error', () => {
      if (current !== run || run.source !== src) return;
      if (run.finished) {
        src.close();
        run.source = null;
        return;
      }
      run.failures += 1;
      if (src.readyState === EventSource.CLOSED || run.failures >= 3) {
        // The server refused the stream (401, 404, ...), or it keeps closing it with no new
        // event: ask the JSON API why before trying again.
        src.close();
        run.source = null;
        streamClosed(run);
      } else {
        report('events', 'the event stream is reconnecting');
      }
    });
  }

  // The stream was refused or broke for good. The JSON API tells why (a 401 shows the token
  // prompt): an unknown run is given up; a running one is followed again from its last event,
  // waiting longer each time (3 s up to 30 s); an ended one whose run_finished never came gets
  // its rest a few times, then no more.
  async function streamClosed(run) {
    let r = null;
    const sentAt = performance.now();
    try {
      r = await api('GET', '/v1/runs/' + encodeURIComponent(run.id));
    } catch (e) {
      if (current !== run) return;
      if (e.status === 404) {
        setStatus('unknown');
        report('events', null);
        report('run', `no run ${run.id} on this server`);
        return;
      }
      report('events', e);
    }
    if (current !== run || run.source || run.finished) return;
    if (r) applyRunObject(r, sentAt);
    if (r && TERMINAL.has(r.status) && run.failures >= 3) {
      report('events', null);
      return;
    }
    report('events', 'the event stream closed; trying again');
    const delay = Math.min(30000, 3000 * 2 ** Math.min(4, run.failures - 1));
    clearTimeout(run.reopenTimer);
    run.reopenTimer = setTimeout(() => openEvents(run), delay);
  }

  function agentName(run, ev) {
    const a = ev.agent || '';
    if (!a) return null;
    const prefix = (run.swarm || '') + '/';
    if (run.swarm && a.startsWith(prefix)) return a.slice(prefix.length);
    const slash = a.indexOf('/');
    if (slash < 0) return null; // the swarm itself
    if (!run.swarm) run.swarm = a.slice(0, slash);
    return a.slice(slash + 1);
  }

  function agentState(run, name) {
    let s = run.agents.get(name);
    if (!s) {
      s = {state: 'pending', active: 0, waiting: 0, usage: {prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, calls: 0}, cost: 0, costKnown: true, costSeen: false};
      run.agents.set(name, s);
      run.order.push(name);
    }
    return s;
  }

  // A task id names its parent task (`t1.review.reviewer_a` is under `t1.review`): when the
  // parent task is a sub-swarm's, the agent belongs to that sub-swarm. True if that is news.
  function placeInSubSwarm(run, name, ev) {
    const task = typeof ev.task_id === 'string' ? ev.task_id : '';
    if (!task) return false;
    if (!run.taskAgent.has(task)) run.taskAgent.set(task, {name, leaf: ev.leaf});
    if (run.parent.has(name)) return false;
    const dot = task.lastIndexOf('.');
    const up = dot > 0 ? run.taskAgent.get(task.slice(0, dot)) : undefined;
    if (!up || up.leaf !== false || up.name === name) return false;
    for (let p = up.name, i = 0; p !== undefined && i < 16; p = run.parent.get(p), i += 1) {
      if (p === name) return false; // would make a cycle
    }
    run.parent.set(name, up.name);
    return true;
  }

  function onEvent(run, ev) {
    const kind = ev.kind || '';
    if (kind === 'run_started' && !run.swarm && ev.agent) {
      run.swarm = ev.agent;
      loadSwarmAgents(run);
    }
    const name = agentName(run, ev);
    let a = null;
    let layoutChanged = false;
    if (name !== null) {
      layoutChanged = !run.agents.has(name);
      a = agentState(run, name);
      if (typeof ev.leaf === 'boolean' && a.leaf !== ev.leaf) {
        a.leaf = ev.leaf;
        layoutChanged = true;
      }
      if (placeInSubSwarm(run, name, ev)) layoutChanged = true;
    }
    switch (kind) {
      case 'run_started':
        if (!TERMINAL.has(run.status)) setStatus('running');
        break;
      case 'run_finished':
        run.finished = true;
        run.finishedAt = performance.now();
        setStatus(ev.name || 'done');
        if (ev.text) setAnswer(ev.text, null);
        if (ev.error) setRunError(ev.error);
        stopActivity();
        if (run.source) {
          run.source.close();
          run.source = null;
        }
        runsPoller.now();
        swarmsPoller.now();
        break;
      case 'member_started':
      case 'member_restarted':
        if (a) {
          a.active += 1;
          a.state = 'running';
        }
        break;
      case 'member_finished':
        if (a) {
          a.active = Math.max(0, a.active - 1);
          if (a.active === 0) a.state = 'done';
        }
        break;
      case 'member_failed':
        if (a) {
          a.active = Math.max(0, a.active - 1);
          a.state = 'failed';
        }
        break;
      case 'member_cancelled':
        if (a) {
          a.active = Math.max(0, a.active - 1);
          if (a.active === 0 && a.state !== 'failed') a.state = 'cancelled';
        }
        break;
      case 'member_skipped':
        if (a && a.state === 'pending') a.state = 'skipped';
        break;
      case 'llm_call_started':
        if (a && (a.state === 'pending' || a.state === 'skipped')) a.state = 'running';
        break;
      case 'llm_call_finished':
        if (a) {
          const u = ev.usage || {};
          for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens', 'calls']) {
            if (typeof u[k] === 'number') a.usage[k] += u[k];
          }
          if (typeof u.calls !== 'number') a.usage.calls += 1;
          if (typeof ev.cost_usd === 'number') {
            a.cost += ev.cost_usd;
            a.costSeen = true;
          } else if ('cost_usd' in ev) {
            a.costKnown = false;
          }
        }
        break;
      case 'approval_waiting':
        if (a) a.waiting += 1;
        approvalsPoller.now();
        break;
      case 'tool_call_approved':
      case 'tool_call_rejected':
        if (a && a.waiting > 0 && ev.approval !== undefined) a.waiting -= 1;
        break;
      default:
        break;
    }
    if (layoutChanged) later(renderGraph);
    else if (name !== null) updateNode(run, name);
    if (name !== null && (kind.startsWith('llm_call_') || kind.startsWith('tool_call_') || kind === 'approval_waiting')) {
      flash(run, name, kind.startsWith('tool_') || kind === 'approval_waiting' ? 'tool' : 'llm');
    }
    if (kind === 'llm_call_finished' || layoutChanged) later(renderUsage);
    if (kind !== 'llm_token') addTimelineRow(run, ev, name);
  }

  function stopActivity() {
    const run = current;
    if (!run) return;
    for (const [key, t] of run.flashTimers) {
      clearTimeout(t);
      const [name, what] = [key.slice(0, key.lastIndexOf('/')), key.slice(key.lastIndexOf('/') + 1)];
      const n = run.nodes.get(name);
      if (n) {
        n.edge.classList.remove('flash-' + what);
        n.g.classList.remove('flash-' + what);
      }
    }
    run.flashTimers.clear();
    for (const [name, a] of run.agents) {
      if (a.active > 0 || a.waiting > 0) {
        a.active = 0;
        a.waiting = 0;
        if (a.state === 'running') a.state = run.status === 'done' ? 'done' : 'cancelled';
        updateNode(run, name);
      }
    }
  }

  // -- timeline

  function eventSummary(ev) {
    const parts = [];
    switch (ev.kind) {
      case 'llm_call_finished': {
        const u = ev.usage || {};
        parts.push(`${ev.name || ''} ${fmtInt(u.total_tokens)} tokens`);
        if (typeof ev.cost_usd === 'number') parts.push(fmtCost(ev.cost_usd));
        if (typeof ev.duration_ms === 'number') parts.push(`${Math.round(ev.duration_ms)} ms`);
        break;
      }
      case 'tool_call_requested':
      case 'approval_waiting':
        parts.push(`${ev.name || ''} ${typeof ev.arguments === 'string' ? ev.arguments : JSON.stringify(ev.arguments || '')}`);
        if (ev.approval !== undefined) parts.push(`approval #${ev.approval}`);
        break;
      case 'decision_made':
        parts.push(ev.line || ev.text || ev.name || '');
        break;
      default:
        if (ev.name && ev.kind !== 'run_finished') parts.push(ev.name);
        else if (ev.kind === 'run_finished') parts.push(ev.name || '');
        if (ev.text) parts.push(ev.text);
        if (ev.kind !== 'run_finished' && typeof ev.duration_ms === 'number') parts.push(`${Math.round(ev.duration_ms)} ms`);
    }
    if (ev.error) parts.push(`${ev.error.code || 'error'}: ${ev.error.message || ''}`);
    return shorten(parts.filter(Boolean).join(' · '), 200);
  }

  function addTimelineRow(run, ev, name) {
    const body = $('#timeline tbody');
    const wrap = $('#timeline-wrap');
    const atBottom = wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 8;
    const row = el('tr', {'data-kind': ev.kind || '', 'data-seq': run.lastSeq || ev.seq || ''},
        el('td', {class: 'time', text: fmtTimeUs(ev.time_us)}),
        el('td', {class: 'agent', text: name === null ? (ev.agent || '') : name}),
        el('td', {class: 'kind', text: ev.kind || ''}),
        el('td', {class: 'what', text: eventSummary(ev)}));
    if (ev.error || ev.kind === 'member_failed' || ev.kind === 'tool_call_rejected') row.classList.add('bad');
    body.append(row);
    run.rows += 1;
    while (body.rows.length > TIMELINE_MAX_ROWS) body.deleteRow(0);
    setText($('#timeline-count'), String(run.rows));
    if (atBottom) wrap.scrollTop = wrap.scrollHeight;
  }

  // -- usage per agent

  function renderUsage() {
    const run = current;
    const body = $('#agent-usage tbody');
    const foot = $('#agent-usage tfoot tr');
    const names = run ? run.order : [];
    reconcile(body, names, (n) => n, () => el('tr'), (tr, n) => {
      const a = run.agents.get(n);
      const cells = [n, fmtInt(a.usage.calls), fmtInt(a.usage.prompt_tokens), fmtInt(a.usage.completion_tokens),
        fmtInt(a.usage.total_tokens), a.costKnown ? fmtCost(a.cost) : (a.costSeen ? '≥ ' + fmtCost(a.cost) : 'unknown')];
      tr.setAttribute('data-agent', n);
      while (tr.cells.length < cells.length) tr.append(el('td'));
      cells.forEach((c, i) => setText(tr.cells[i], c));
    });
    const total = {calls: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost: 0, known: true, seen: false};
    for (const n of names) {
      const a = run.agents.get(n);
      total.calls += a.usage.calls;
      total.prompt_tokens += a.usage.prompt_tokens;
      total.completion_tokens += a.usage.completion_tokens;
      total.total_tokens += a.usage.total_tokens;
      total.cost += a.cost;
      total.known = total.known && a.costKnown;
      total.seen = total.seen || a.costSeen;
    }
    const cells = [fmtInt(total.calls), fmtInt(total.prompt_tokens), fmtInt(total.completion_tokens),
      fmtInt(total.total_tokens), total.known ? fmtCost(total.cost) : (total.seen ? '≥ ' + fmtCost(total.cost) : 'unknown')];
    cells.forEach((c, i) => setText(foot.cells[i + 1], c));
  }

  // -- the graph

  const NODE_W = 120;
  const NODE_H = 46;
  const GAP_X = 18;
  const ROOT_Y = 16;
  const ROW_Y0 = 130;
  const ROW_H = 90;

  // Depth of an agent under the root: 1, or one more than its sub-swarm's.
  function depthOf(run, name) {
    let d = 1;
    for (let p = run.parent.get(name); p !== undefined && d < 16; p = run.parent.get(p)) d += 1;
    return d;
  }

  // Lays the drawn agents out level by level (a sub-swarm's agents on the level below it, in
  // their sub-swarm's order), each level wrapped into rows of at most 8 nodes.
  function renderGraph() {
    const svgRoot = $('#graph');
    const run = current;
    svgRoot.replaceChildren();
    if (!run) return;
    run.nodes = new Map();
    const names = run.order.slice(0, GRAPH_MAX_NODES);
    const drawn = new Set(names);
    const rank = new Map(run.order.map((n, i) => [n, i]));
    const levels = [];
    for (const n of names) {
      const p = run.parent.get(n);
      const d = p !== undefined && !drawn.has(p) ? 1 : depthOf(run, n); // its sub-swarm not drawn: under the root
      (levels[d - 1] = levels[d - 1] || []).push(n);
    }
    const key = (n) => {
      const p = run.parent.get(n);
      return p !== undefined && drawn.has(p) ? rank.get(p) : -1;
    };
    const rowsOfNames = [];
    for (const level of levels) {
      if (!level) continue;
      level.sort((a, b) => key(a) - key(b) || rank.get(a) - rank.get(b));
      for (let i = 0; i < level.length; i += 8) rowsOfNames.push(level.slice(i, i + 8));
    }
    if (rowsOfNames.length === 0) rowsOfNames.push([]);
    const perRow = Math.max(1, ...rowsOfNames.map((r) => r.length));
    const width = Math.max(640, perRow * (NODE_W + GAP_X) + GAP_X);
    const height = ROW_Y0 + (rowsOfNames.length - 1) * ROW_H + NODE_H + 16;
    svgRoot.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svgRoot.style.aspectRatio = `${width} / ${height}`;
    const rootX = width / 2;
    const edges = svg('g', {class: 'edges'});
    const nodes = svg('g', {class: 'nodes'});
    svgRoot.append(edges, nodes);

    const root = svg('g', {class: 'node root', 'data-swarm': run.swarm || '', 'data-state': rootState(run.status),
      transform: `translate(${rootX - NODE_W / 2 - 20}, ${ROOT_Y})`});
    root.append(svg('rect', {width: NODE_W + 40, height: NODE_H + 8, rx: 10}));
    const rootLabel = svg('text', {x: (NODE_W + 40) / 2, y: 24, 'text-anchor': 'middle', class: 'label'});
    rootLabel.textContent = run.swarm || 'swarm';
    const rootSub = svg('text', {x: (NODE_W + 40) / 2, y: 42, 'text-anchor': 'middle', class: 'sub'});
    rootSub.textContent = `${run.order.length} agent${run.order.length === 1 ? '' : 's'}` +
        (run.order.length > names.length ? ` (${names.length} drawn)` : '');
    root.append(rootLabel, rootSub);
    const rootTitle = svg('title');
    rootTitle.textContent = run.swarm || '';
    root.append(rootTitle);
    nodes.append(root);

    const at = new Map(); // name -> {x, y} of the node's top left corner
    rowsOfNames.forEach((row, r) => {
      const rowWidth = row.length * NODE_W + (row.length - 1) * GAP_X;
      row.forEach((name, i) => at.set(name, {x: (width - rowWidth) / 2 + i * (NODE_W + GAP_X), y: ROW_Y0 + r * ROW_H}));
    });
    for (const name of names) {
      const {x, y} = at.get(name);
      const p = run.parent.get(name);
      const from = p !== undefined && at.has(p) ? {x: at.get(p).x + NODE_W / 2, y: at.get(p).y + NODE_H} :
        {x: rootX, y: ROOT_Y + NODE_H + 8};
      const bend = Math.max(20, (y - from.y) / 2);
      const edge = svg('path', {class: 'edge', 'data-edge': name,
        d: `M ${from.x} ${from.y} C ${from.x} ${from.y + bend}, ${x + NODE_W / 2} ${y - bend}, ${x + NODE_W / 2} ${y}`});
      edges.append(edge);
      const a = run.agents.get(name);
      const g = svg('g', {class: a && a.leaf === false ? 'node agent group' : 'node agent', 'data-agent': name,
        'data-state': 'pending', transform: `translate(${x}, ${y})`});
      g.append(svg('rect', {width: NODE_W, height: NODE_H, rx: 8}));
      const label = svg('text', {x: NODE_W / 2, y: 19, 'text-anchor': 'middle', class: 'label'});
      label.textContent = shorten(name, 16);
      const sub = svg('text', {x: NODE_W / 2, y: 36, 'text-anchor': 'middle', class: 'sub'});
      const title = svg('title');
      title.textContent = p !== undefined ? `${name} (in ${p})` : name;
      g.append(label, sub, title);
      nodes.append(g);
      run.nodes.set(name, {g, edge, sub});
      updateNode(run, name);
    }
  }

  function updateNode(run, name) {
    const n = run.nodes.get(name);
    const a = run.agents.get(name);
    if (!n || !a) return;
    n.g.setAttribute('data-state', a.state);
    if (a.waiting > 0) n.g.setAttribute('data-waiting', 'true');
    else n.g.removeAttribute('data-waiting');
    n.edge.classList.toggle('active', a.active > 0);
    n.edge.setAttribute('data-state', a.state);
    const sub = a.waiting > 0 ? 'waits for approval' : `${a.state} · ${fmtInt(a.usage.total_tokens)} tok`;
    if (n.sub.textContent !== sub) n.sub.textContent = sub;
  }

  function flash(run, name, what) {
    const n = run.nodes.get(name);
    if (!n) return;
    const cls = 'flash-' + what;
    n.edge.classList.add(cls);
    n.g.classList.add(cls);
    const key = name + '/' + what;
    clearTimeout(run.flashTimers.get(key));
    run.flashTimers.set(key, setTimeout(() => {
      n.edge.classList.remove(cls);
      n.g.classList.remove(cls);
      run.flashTimers.delete(key);
    }, FLASH_MS));
  }

  async function cancelRun() {
    if (!current) return;
    try {
      applyRunObject(await api('POST', '/v1/runs/' + encodeURIComponent(current.id) + '/cancel'));
      report('run', null);
    } catch (e) {
      report('run', e);
    }
  }

  async function resumeRun() {
    if (!current) return;
    const run = current;
    try {
      const r = await api('POST', '/v1/runs/' + encodeURIComponent(run.id) + '/resume');
      if (current !== run) return;
      run.finished = false;
      run.failures = 0;
      clearTimeout(run.reopenTimer);
      if (run.source) run.source.close();
      run.source = null;
      setStatus('running');
      applyRunObject(r);
      openEvents(run);
      report('run', null);
    } catch (e) {
      report('run', e);
    }
  }

  // ---------------------------------------------------------------- approvals

  async function refreshApprovals() {
    const list = await api('GET', '/v1/approvals');
    const items = (list && Array.isArray(list.data)) ? list.data : [];
    setText($('#approvals-count'), String(items.length));
    $('#approvals-count').dataset.pending = items.length > 0 ? 'true' : 'false';
    reconcile($('#approvals'), items, (a) => a.id, (a) => {
      const row = el('div', {class: 'approval card', 'data-id': a.id});
      const approve = el('button', {type: 'button', class: 'approve', text: 'Approve'});
      const reject = el('button', {type: 'button', class: 'reject', text: 'Reject'});
      approve.addEventListener('click', () => decide(row, a.id, true));
      reject.addEventListener('click', () => decide(row, a.id, false));
      row.append(
          el('div', {class: 'row-head'},
              el('strong', {class: 'tool', text: a.tool || ''}),
              el('span', {class: 'tag', text: '#' + a.id})),
          el('div', {class: 'note who'}),
          el('pre', {class: 'arguments'}),
          el('div', {class: 'buttons'}, approve, reject),
          el('div', {class: 'note outcome'}));
      return row;
    }, (row, a) => {
      const who = row.querySelector('.who');
      const agent = a.agent || '';
      setText(who, `${a.swarm || ''} · ${agent}${a.run_id ? ' · run ' + a.run_id : ''}`);
      setText(row.querySelector('.arguments'), argumentsText(a.arguments));
    }, 'No call waits for a decision.');
  }

  async function decide(row, id, approve) {
    for (const b of row.querySelectorAll('button')) b.disabled = true;
    const outcome = row.querySelector('.outcome');
    setText(outcome, approve ? 'approving…' : 'rejecting…');
    try {
      await api('POST', '/v1/approvals/' + encodeURIComponent(id), {approve});
      setText(outcome, approve ? 'approved' : 'rejected');
      row.dataset.decided = approve ? 'approved' : 'rejected';
      report('approvals', null);
    } catch (e) {
      setText(outcome, e.message);
      for (const b of row.querySelectorAll('button')) b.disabled = false;
      report('approvals', e);
    }
    approvalsPoller.now();
  }

  // ---------------------------------------------------------------- start

  let swarmsPoller = {now() {}};
  let runsPoller = {now() {}};
  let approvalsPoller = {now() {}};

  function start() {
    takeTokenFromUrl();
    memoryToken = token();
    $('#token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('#token-input').value.trim();
      if (!t) return;
      saveToken(t);
      showTokenPrompt(false);
      problems.clear();
      report('token', null);
      swarmsPoller.now();
      runsPoller.now();
      approvalsPoller.now();
      if (current && !current.finished) {
        clearTimeout(current.reopenTimer);
        if (current.source) current.source.close();
        current.source = null;
        openEvents(current);
      }
    });
    $('#run-form').addEventListener('submit', startRun);
    $('#spec-form').addEventListener('submit', submitSpec);
    $('#run-cancel').addEventListener('click', cancelRun);
    $('#run-resume').addEventListener('click', resumeRun);
    $('#run-task').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        $('#run-form').requestSubmit();
      }
    });
    renderUsage();
    swarmsPoller = poll('swarms', SWARMS_EVERY_MS, refreshSwarms);
    runsPoller = poll('runs', RUNS_EVERY_MS, refreshRuns);
    approvalsPoller = poll('approvals', APPROVALS_EVERY_MS, refreshApprovals);
    const m = /^#run=(.+)$/.exec(window.location.hash);
    if (m) selectRun(decodeURIComponent(m[1]));
  }

  window.addEventListener('unhandledrejection', (ev) => {
    report('page', ev.reason instanceof Error ? ev.reason.message : String(ev.reason));
    ev.preventDefault();
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
