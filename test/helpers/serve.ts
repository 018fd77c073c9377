import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { startCharnn } from './cli.js';

/** A running `charnn serve` process, its port (from its first line) and everything it wrote to stderr. */
export interface RunningServer {
  child: ChildProcessWithoutNullStreams;
  port: number;
  url: string;
  stderr: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts `charnn serve ...args --port 0` in `cwd` and waits for the line that says where it listens. */
export function startServer(args: string[], cwd: string): Promise<RunningServer> {
  const child = startCharnn(['serve', '--port', '0', ...args], cwd) as ChildProcessWithoutNullStreams;
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /listening on http:\/\/\S+:(\d+),/.exec(stderr);
      if (m) {
        const port = Number(m[1]);
        resolve({ child, port, url: `http://127.0.0.1:${port}`, stderr: () => stderr, exited });
      }
    });
    exited.then((code) => reject(new Error(`charnn serve exited (${code}) before listening: ${stderr}`)));
  });
}

/** POSTs a JSON body (or raw text) to the server; the status and the parsed JSON answer. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Polls `check` until it holds (the server's state after an event it does not announce); no deadline but the test's. */
export async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}
