import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository, and its README as a user reads it. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The text under a README heading (of any level), up to the next heading of the same or a higher level. */
export function section(title: string): string {
  const start = new RegExp(`^(#+) ${title.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}\n`, 'm').exec(README);
  if (!start) throw new Error(`README has no heading "${title}"`);
  const rest = README.slice(start.index + start[0].length);
  const end = new RegExp(`^#{1,${start[1].length}} `, 'm').exec(rest);
  return end ? rest.slice(0, end.index) : rest;
}

/** README's command lines that start with `npx charnn`, as printed (in indented code blocks), comments dropped. */
export function readmeCommands(): string[] {
  return [...README.matchAll(/^ {4,}(npx charnn [^\n]*?)(?: +# [^\n]*)?$/gm)].map((m) => m[1]);
}
