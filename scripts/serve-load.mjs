#!/usr/bin/env node
// Load test of `charnn serve`: 1, 8, 32 and 128 concurrent streaming clients against a 2×128 and a
// 2×256 LSTM (untrained: speed does not depend on the weights). For each: aggregate characters per
// second, time to the first character (p50, p99), characters per second of each client, the server's
// CPU time per character (its threads' time on a core: what serving cost, whatever else the machine
// ran) and its peak resident memory. The server's own time from a request's arrival to its first chunk
// (from its log) is given beside the clients' time to the first character: the difference is the
// clients' and the operating system's (connecting, sending, a process waiting for a core). The clients
// run in this process; on a small machine they take some of the CPU the server would have, so the
// figures are a floor.
//
//   node scripts/serve-load.mjs [--chars 1000] [--clients 1,8,32,128] [--hidden 128,256] [--profile <dir>]
//
// --profile <dir> runs each server under `node --cpu-prof` and leaves its profile in <dir> (open it in
// Chrome's DevTools, Performance tab) to see where a step's time goes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/charnn.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CHARS = Number(arg('chars', '1000'));
const CLIENTS = arg('clients', '1,8,32,128').split(',').map(Number);
const HIDDEN = arg('hidden', '128,256').split(',').map(Number);
const PROFILE = arg('profile', null);

function run(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`charnn ${args.join(' ')}: ${stderr}`))));
  });
}

/**
 * Starts `charnn serve` on a free port; resolves once it listens, with `firstChunks(n)`: the server's own
 * time from each request to its first chunk (from its log lines), for the next n streams it logs.
 */
function serve(checkpoint, cwd) {
  const profile = PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(PROFILE)] : [];
  const child = spawn(process.execPath, [...profile, BIN, 'serve', checkpoint, '--port', '0', '--max-batch', '128'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '', read = 0;
  const logged = () => [...stderr.matchAll(/POST \/v1\/completions 200 .* \(first chunk (\d+) ms\)/g)].map((m) => Number(m[1]));
  const firstChunks = async (n) => {
    // A request is logged when its connection closes, a moment after its client has read the end.
    for (let waited = 0; logged().length < read + n; waited += 20) {
      if (waited > 30000) throw new Error(`the server logged ${logged().length - read} of ${n} streams in 30 s: ${stderr.slice(-500)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    read += n;
    return logged().slice(read - n, read);
  };
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/\S+), models: (\S+)/.exec(stderr);
      if (m) resolve({ child, url: m[1], model: m[2], firstChunks });
    });
    child.on('close', (code) => reject(new Error(`charnn serve exited (${code}): ${stderr}`)));
  });
}

/** The server's peak resident memory so far (Linux: VmHWM), in MB. */
function peakMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** The CPU time the process's threads have used so far (Linux: /proc/<pid>/task/<tid>/schedstat, in ns), in ms. */
function cpuMs(pid) {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {} // a thread that ended since the listing
  }
  return ns / 1e6;
}

/** Keeps the connections open between levels, as a client library's pool does, and opens as many as asked. */
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/**
 * One streaming client: milliseconds to its first character, characters, and its own chars/s. Node's
 * own http client, not fetch: at 32 streams in one process, fetch's web streams cost the clients enough
 * CPU to delay the later requests' sending, which the first-character times then counted.
 */
function client(url, model, seed) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.request(`${url}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let buffer = '', chars = 0, first = null;
      res.setEncoding('utf8').on('data', (text) => {
        buffer += text;
        const events = buffer.split('\n\n');
        buffer = events.pop();
        for (const event of events) {
          if (!event.startsWith('data: {')) continue;
          for (const choice of JSON.parse(event.slice(6)).choices) chars += [...choice.text].length;
          if (first === null && chars > 0) first = performance.now() - start;
        }
      });
      res.on('error', reject).on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`the server answered ${res.statusCode}: ${buffer}`));
        else if (chars !== CHARS) reject(new Error(`a client received ${chars} characters of the ${CHARS} it asked for`));
        else resolve({ first, chars, rate: chars / ((performance.now() - start) / 1000) });
      });
    });
    req.on('error', reject).end(JSON.stringify({ model, prompt: 'the ', max_tokens: CHARS, seed, stream: true }));
  });
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-serve-load-'));
try {
  const words = ['the', 'lamp', 'keeper', 'sea', 'light', 'night', 'storm', 'and', 'a', 'of', 'bell'];
  let text = '';
  for (let i = 0; text.length < 20000; i++) text += words[(i * 7 + (i >> 3)) % words.length] + (i % 9 === 8 ? '.\n' : ' ');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), text);
  console.log(`| model | clients | aggregate chars/s | first char p50 (ms) | first char p99 (ms) | server's first chunk p50 (ms) | server's first chunk p99 (ms) | per-client chars/s (median) | server CPU µs/char | peak RSS (MB) |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|`);
  for (const hidden of HIDDEN) {
    const name = `h${hidden}`;
    await run(['train', 'corpus.txt', '--layers', '2', '--hidden', String(hidden), '--max-iters', '1', '--eval-every', '1', '--checkpoint-dir', `checkpoints/${name}`], dir);
    const server = await serve(`checkpoints/${name}/best.json`, dir);
    try {
      await client(server.url, server.model, 0); // warm-up: the JIT, the first allocations
      await server.firstChunks(1);
      for (const count of CLIENTS) {
        const start = performance.now(), cpuStart = cpuMs(server.child.pid);
        const results = await Promise.all(Array.from({ length: count }, (_, i) => client(server.url, server.model, i + 1)));
        const seconds = (performance.now() - start) / 1000;
        const total = results.reduce((sum, r) => sum + r.chars, 0);
        const cpu = ((cpuMs(server.child.pid) - cpuStart) * 1000) / total;
        const firsts = results.map((r) => r.first), served = await server.firstChunks(count);
        console.log(`| 2×${hidden} | ${count} | ${Math.round(total / seconds)} | ${percentile(firsts, 50).toFixed(1)} | ${percentile(firsts, 99).toFixed(1)} | ${percentile(served, 50)} | ${percentile(served, 99)} | ${Math.round(percentile(results.map((r) => r.rate), 50))} | ${cpu.toFixed(1)} | ${peakMb(server.child.pid)} |`);
      }
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('close', resolve));
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
