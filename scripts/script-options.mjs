// What the corpus-building measuring scripts (big-corpus.mjs, index-bench.mjs) read from their command
// line: `--name value` options, corpus sizes such as 100MB or 1GB (decimal), and the text they are built
// from (../shared/corpora/tinyshakespeare.txt when it exists, else corpora/lighthouse.txt).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const args = process.argv.slice(2);

/** With --help, prints the comment at the top of the script (`import.meta.url`: its usage) and exits. */
export function helpIfAsked(scriptUrl) {
  if (!args.includes('--help')) return;
  const comment = fs.readFileSync(new URL(scriptUrl), 'utf8').split('\n').slice(1).filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//')));
  process.stdout.write(comment.map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}

export function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

const UNITS = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 };

/** `--sizes` as [{ label, bytes }]; a size that cannot be read ends the script with exit 2. */
export function sizes(script, fallback) {
  return option('--sizes', fallback).split(',').map((s) => {
    const m = /^(\d+(?:\.\d+)?)(B|KB|MB|GB)$/i.exec(s.trim());
    if (!m) {
      process.stderr.write(`${script}: cannot read the size ${s}; write e.g. 100MB or 1GB\n`);
      process.exit(2);
    }
    return { label: s.trim(), bytes: Math.round(Number(m[1]) * UNITS[m[2].toUpperCase()]) };
  });
}

/** `--text`, or the default text. */
export function textFile() {
  const shared = path.join(repo, '../shared/corpora/tinyshakespeare.txt');
  return option('--text', fs.existsSync(shared) ? shared : path.join(repo, 'corpora/lighthouse.txt'));
}
