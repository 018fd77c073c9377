import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../util/errors.js';

/** One document of the corpus: a file, or standard input (`-`). */
export interface InputFile {
  /** The path as the user sees it (the folder they named joined with the path below it), or `-`. */
  path: string;
  /** Size in bytes when known before reading (null for standard input). */
  bytes: number | null;
}

/** A file found while walking a folder that will not be read, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface InputList {
  /** Names the default checkpoint folder: the first input's file name without extension, folder name, or `stdin`. */
  name: string;
  /** In reading order: folders in sorted path order, files and `-` as given. */
  files: InputFile[];
  /** Found but not readable: symlink loops, broken links, unreadable files and folders. */
  skipped: SkippedFile[];
}

export const STDIN = '-';

/**
 * Expands what the user named into the files to read. A folder is walked recursively in sorted order
 * (by code unit, so the order does not depend on the file system or locale); folders whose names
 * start with a dot (.git, .cache) are not entered. `include` globs choose files under folders by name
 * (`*.md`) or by path below the folder (`poems/**` matches everything under poems). Files named on the command line are always read.
 * Folders in `exclude` (where checkpoints go) are not entered either.
 */
export async function findInputs(args: readonly string[], include: readonly string[] = [], exclude: readonly string[] = []): Promise<InputList> {
  if (args.length === 0) throw new UsageError('no corpus given; name a text file, a folder, or - for standard input');
  if (args.filter((a) => a === STDIN).length > 1) throw new UsageError('- (standard input) can be given only once');
  const matchers = include.map(globMatcher);
  const excluded = new Set(exclude.map((dir) => path.resolve(dir)));
  const files: InputFile[] = [];
  const skipped: SkippedFile[] = [];
  for (const arg of args) {
    if (arg === STDIN) {
      files.push({ path: STDIN, bytes: null });
      continue;
    }
    const stat = await statNamed(arg);
    if (stat.isDirectory()) {
      const before = files.length;
      await walk(arg, '', { matchers, excluded }, files, skipped, new Map([[await fs.realpath(arg), arg]]));
      if (files.length === before && include.length > 0) {
        throw new UsageError(`no file under ${arg} matches --include ${include.map((g) => `'${g}'`).join(' ')}; check the pattern`);
      }
      if (files.length === before && !skipped.some((s) => isUnder(s.path, arg))) throw new UsageError(`${arg} holds no files; give a folder with text files in it`);
    } else {
      files.push({ path: arg, bytes: stat.size });
    }
  }
  return { name: corpusName(args), files, skipped };
}

/** The stat of a path the user named, with one-line errors. */
async function statNamed(arg: string) {
  try {
    return await fs.stat(arg);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`no such file or folder: ${arg} — check the path`);
    if (code === 'ELOOP') throw new UsageError(`${arg} is a symlink loop; give the path of a text file or folder`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`cannot read ${arg}: permission denied — check its permissions`);
    throw new UsageError(`cannot read ${arg}: ${(err as Error).message}`);
  }
}

/**
 * Depth-first over `root/rel`, entries sorted by name. `ancestors` maps the real paths of the folders
 * being walked to their paths as shown, so a link back to one of them is reported as a loop instead of
 * followed forever.
 */
async function walk(
  root: string, rel: string, filter: { matchers: ((rel: string) => boolean)[]; excluded: Set<string> }, files: InputFile[], skipped: SkippedFile[],
  ancestors: Map<string, string>,
): Promise<void> {
  const dir = path.join(root, rel);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).sort(byCodeUnit);
  } catch (err) {
    skipped.push({ path: dir, reason: unreadable(err) });
    return;
  }
  for (const name of names) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const full = path.join(root, childRel);
    let stat;
    try {
      stat = await fs.stat(full);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      skipped.push({ path: full, reason: code === 'ENOENT' ? 'a broken symlink' : code === 'ELOOP' ? 'a symlink loop' : unreadable(err) });
      continue;
    }
    if (stat.isDirectory()) {
      if (name.startsWith('.') || filter.excluded.has(path.resolve(full))) continue;
      const real = await fs.realpath(full);
      const ancestor = ancestors.get(real);
      if (ancestor !== undefined) {
        skipped.push({ path: full, reason: `a symlink loop back to ${ancestor}` });
        continue;
      }
      ancestors.set(real, full);
      await walk(root, childRel, filter, files, skipped, ancestors);
      ancestors.delete(real);
    } else if (stat.isFile()) {
      if (filter.matchers.length === 0 || filter.matchers.some((m) => m(childRel))) files.push({ path: full, bytes: stat.size });
    }
  }
}

function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : `unreadable (${(err as Error).message})`;
}

function isUnder(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel !== '' && !rel.startsWith('..');
}

/** Plain code-unit order, the same on every machine (localeCompare is not). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The name of the default checkpoint folder: the first input's file name without extension, its folder's name, or `stdin`. */
export function corpusName(args: readonly string[]): string {
  const first = args[0] ?? '';
  if (first === STDIN) return 'stdin';
  const resolved = path.resolve(first);
  const base = path.basename(resolved);
  return base.includes('.') && !base.startsWith('.') ? base.slice(0, base.lastIndexOf('.')) : base || 'corpus';
}

/**
 * A glob as a test on a path below the folder ('/'-separated): `*` and `?` within a name, `**` across
 * folders, `[abc]` and `{md,txt}`. A pattern without '/' is matched against the file name alone.
 */
export function globMatcher(glob: string): (rel: string) => boolean {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole folders; a lone `**` anything at all.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${glob.slice(i + 1, end).split(',').map(escapeRegExp).join('|')})`;
        i = end;
      }
    } else re += escapeRegExp(c);
  }
  const pattern = new RegExp(`^${re}$`);
  return glob.includes('/') ? (rel) => pattern.test(rel) : (rel) => pattern.test(rel.slice(rel.lastIndexOf('/') + 1));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
