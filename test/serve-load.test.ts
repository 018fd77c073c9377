import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers/cli.js';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scripts/serve-load.mjs');

describe('scripts/serve-load.mjs', () => {
  it('prints one table row per model and client count, every client having received its characters, and leaves no temp folder', async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('charnn-serve-load-'));
    const r = await runNode(SCRIPT, ['--chars', '20', '--clients', '1,3', '--hidden', '16'], os.tmpdir());
    expect(r.code, r.stderr).toBe(0);
    const [header, , ...rows] = r.stdout.trim().split('\n').map((line) => line.split('|').map((c) => c.trim()).filter(Boolean));
    expect(rows.map((row) => row.slice(0, 2))).toEqual([['2×16', '1'], ['2×16', '3']]);
    for (const row of rows) {
      row.slice(2).forEach((figure, i) => {
        // The server logs whole milliseconds: a tiny model's first chunk can go out within one.
        if (header[i + 2].startsWith("server's first chunk")) expect(Number(figure)).toBeGreaterThanOrEqual(0);
        else expect(Number(figure)).toBeGreaterThan(0);
      });
    }
    expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('charnn-serve-load-'))).toEqual(before);
  });
});
