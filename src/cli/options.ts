import { InvalidArgumentError } from 'commander';

/** Option value parsers for commander: each turns text into a typed value or explains what is expected. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number, 0 or more.');
  return n;
}

/** A seed for the 32-bit generator: every seed gives its own sequence, so none may wrap around. */
export function seed(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !(n <= 0xffffffff)) throw new InvalidArgumentError('expected a whole number from 0 to 4294967295.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number greater than 0.');
  return n;
}

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number, 0 or more.');
  return n;
}

/** A number in [0, 1): a probability that is not certain. */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('expected a number from 0 up to (not including) 1.');
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** A duration such as 90, 90s, 10m, 1h or 1h30m, in seconds. */
export function duration(value: string): number {
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return positiveNumber(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smh])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new InvalidArgumentError('expected a duration such as 90s, 10m, 1h or 1h30m.');
  }
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SECONDS[p[2]], 0);
  if (seconds <= 0) throw new InvalidArgumentError('expected a duration greater than 0.');
  return seconds;
}

export function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of: ${allowed.join(', ')}.`);
    return value as T;
  };
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

/** Backslash escapes in a text option: \n \t \r \\, \xHH, \uHHHH and \u{H…} (any code point). */
export function unescape(value: string): string {
  return value.replace(/\\(?:([ntr\\])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|u\{([0-9a-fA-F]{1,6})\})/g, (match, c: string, x: string, u: string, braced: string) => {
    if (c) return ESCAPES[c];
    const cp = parseInt(x ?? u ?? braced, 16);
    if (cp > 0x10ffff) throw new InvalidArgumentError(`${match} is past U+10FFFF, the last code point.`);
    return String.fromCodePoint(cp);
  });
}

/** --doc-sep: one character (escapes allowed, e.g. '\x1e' or '\n'), or `none`. */
export function documentSeparator(value: string): string | null {
  if (value === 'none') return null;
  const char = unescape(value);
  if ([...char].length !== 1) throw new InvalidArgumentError("expected one character (escapes such as '\\x1e' or '\\n' work) or none.");
  return char;
}

/** A positive whole number, or `all` (Infinity: commander cannot hold null as an option's value). */
export function positiveIntOrAll(value: string): number {
  if (value.trim() === 'all') return Infinity;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number, or all.');
  return n;
}

/** Collects a repeatable option's values. */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
