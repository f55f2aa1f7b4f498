// Prints the JSON lines that run.sh wrote (one record of peers.mjs per line) as a markdown
// table; "CPU × fetch" is CPU per call over plain fetch's for the same scenario and N, same run.
//   node table.mjs results.jsonl
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node table.mjs RESULTS.jsonl\n');
  process.exit(2);
}
const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const floor = new Map(rows.filter((r) => r.framework === 'fetch')
  .map((r) => [`${r.scenario}/${r.n}`, r.cpu_us_per_call.median]));
const fmt = (x) => (x === undefined || x === null ? '' : String(x));
const lines = [
  '| framework | scenario | N | wall/round ms median (min–max) | CPU/call µs | CPU × fetch | ' +
    'peak RSS MB | added p50 µs | added p99 µs | mock requests |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  const f = floor.get(`${r.scenario}/${r.n}`);
  const ratio = f ? (r.cpu_us_per_call.median / f).toFixed(1) : '';
  const w = r.wall_ms;
  lines.push(`| ${r.framework} | ${r.scenario} | ${r.n} | ${w.median} (${w.min}–${w.max}) |` +
             ` ${r.cpu_us_per_call.median} | ${ratio} | ${r.peak_rss_mb} | ` +
             `${r.added_latency_us.p50} | ${r.added_latency_us.p99} | ` +
             `${fmt(r.mock_requests)}/${fmt(r.calls)} |`);
}
process.stdout.write(lines.join('\n') + '\n');
