import { InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import type * as z from 'zod';
import { readInt, readNumber, values, type OptionSpec, type TextReader } from '../checkpoint/options.js';
import { BACKENDS, defaultBackend } from '../kernels/index.js';
import type { Threads } from '../train/threads.js';

/**
 * Option value parsers for commander: each turns text into a typed value or explains what is expected.
 * A value is read from its text, then checked by a schema: the training options' own (src/checkpoint/
 * options.ts), so the command line accepts exactly what the library and the checkpoint loader accept.
 */
function checked<T>(read: TextReader, schema: z.ZodType<T>, expects: string): (value: string) => T {
  return (value: string) => {
    const parsed = schema.safeParse(read(value));
    if (!parsed.success) throw new InvalidArgumentError(`expected ${expects}.`);
    return parsed.data;
  };
}

/** Stands for null in commander, which would turn a parsed null into '' (`--val-max-chars all`, `--doc-sep none`). */
const NULL = Symbol('null');

/** A parser whose null survives commander; optionValue gives back what it parsed. */
export function keepingNull<T>(parse: (value: string) => T): (value: string) => T | typeof NULL {
  return (value) => parse(value) ?? NULL;
}

/** The parser of a training option from its table entry. */
export const optionParser = (spec: OptionSpec): ((value: string) => unknown) => keepingNull(checked(spec.read, spec.schema, spec.expects));

export const optionValue = (value: unknown): unknown => (value === NULL ? null : value);

export const positiveInt = checked(readInt, values.positiveInt, 'a positive whole number');
export const nonNegativeInt = checked(readInt, values.count, 'a whole number, 0 or more');
/** A seed for the 32-bit generator: every seed gives its own sequence, so none may wrap around. */
export const seed = checked(readInt, values.uint32, 'a whole number from 0 to 4294967295');
export const positiveNumber = checked(readNumber, values.positive, 'a number greater than 0');

export function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of: ${allowed.join(', ')}.`);
    return value as T;
  };
}

/** --threads, on train and bench: a number, or auto (src/train/threads.ts). */
export function threadsOption(): Option {
  const parse = (value: string): Threads => {
    if (value === 'auto') return 'auto';
    try {
      return positiveInt(value);
    } catch {
      throw new InvalidArgumentError('expected a positive whole number, or auto.');
    }
  };
  return new Option('--threads <n>', `threads sharing each batch (data parallel), or auto: one per core (${availableParallelism()} here), one for a step too small to share`)
    .argParser(parse).default('auto');
}

/** --backend, on every command that computes: the numeric kernels, by default the fastest that load here. */
export function backendOption(): Option {
  return new Option('--backend <name>', 'numeric kernels: native (the system\'s BLAS), wasm or js').argParser(choice(BACKENDS)).default(defaultBackend());
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

/** Collects a repeatable option's values. */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
