import { Chalk, supportsColor } from 'chalk';
import stringWidth from 'string-width';
import type { CopiedSpan } from '../data/copy-index.js';
import type { ActivationTrace } from '../inspect/activations.js';
import { cellColour, COPY_MIN_LENGTH, inkOn, SURPRISE_MAX_BITS, surpriseColour, type Rgb } from './viz-colours.js';

/** A cell to colour by: where it is, what it is called, and its value at every character. */
export interface ShownCell {
  layer: number;
  cell: number;
  label: string;
  values: Float32Array;
}

/**
 * Colour for stdout as chalk decides it (a terminal, or FORCE_COLOR, which wins), except that NO_COLOR
 * turns it off unless FORCE_COLOR is set, and FORCE_COLOR=2 or 3 asks for at least that many colours
 * (chalk takes it as a minimum only where it does not recognise the terminal).
 */
export function stdoutColourLevel(env: NodeJS.ProcessEnv = process.env): 0 | 1 | 2 | 3 {
  if (!('FORCE_COLOR' in env) && env.NO_COLOR) return 0;
  const level = supportsColor ? supportsColor.level : 0;
  const forced = Number(env.FORCE_COLOR);
  return level > 0 && (forced === 2 || forced === 3) ? (Math.max(level, forced) as 2 | 3) : level;
}

/** How a character is drawn: invisible ones as a visible sign. */
function visible(char: string): string {
  if (char === '\n') return '↵';
  if (char === '\t') return '⇥';
  if (char === '\r') return '␍';
  return /\p{C}/u.test(char) ? '·' : char;
}

/** For each character, the number (from 1) of the first copied span it is in, 0 outside them. */
function copyNumbers(length: number, copies: readonly CopiedSpan[]): Uint16Array {
  const numbers = new Uint16Array(length);
  copies.forEach(({ at, length }, k) => {
    for (let i = at; i < at + length; i++) if (numbers[i] === 0) numbers[i] = Math.min(k + 1, 0xffff);
  });
  return numbers;
}

/** The copied spans listed under the text: number, characters, length, the span and where it comes from. */
function copyList(trace: ActivationTrace, copies: readonly CopiedSpan[]): string[] {
  const chars = [...trace.text];
  if (copies.length === 0) return [`no span of ${COPY_MIN_LENGTH} or more characters occurs verbatim in the training text`];
  return [
    `copied from the training text (spans of ${COPY_MIN_LENGTH} or more characters found verbatim):`,
    ...copies.map(({ at, length, source }, k) => {
      const span = chars.slice(at, at + length).join('');
      const shown = length > 60 ? `${chars.slice(at, at + 57).join('')}…` : span;
      return `  [${k + 1}] characters ${at + 1}–${at + length} (${length}): ${JSON.stringify(shown)} from ${source.path}:${source.line}`;
    }),
  ];
}

/**
 * The text with each character's background coloured by its surprise (or by one cell), wrapped at
 * `columns` (the text's own newlines kept), after a one-line legend. Characters of copied spans (when
 * looked for: `copies` not null) are underlined, and the spans listed after the text.
 */
export function colouredText(trace: ActivationTrace, cell: ShownCell | null, copies: readonly CopiedSpan[] | null, level: 1 | 2 | 3, columns: number): string {
  const chalk = new Chalk({ level });
  const copied = copyNumbers(trace.length, copies ?? []);
  const paint = (rgb: Rgb, text: string, i = -1) => (i >= 0 && copied[i] > 0 ? chalk.underline : chalk).bgRgb(...rgb).rgb(...inkOn(rgb))(text);
  const colourAt = (i: number): Rgb => (cell ? cellColour(cell.values[i]) : surpriseColour(trace.surprisal[i]));
  const legend = cell
    ? `layer ${cell.layer} cell ${cell.cell}, ${cell.label}: ` + [-1, -0.5, 0, 0.5, 1].map((v) => paint(cellColour(v), ` ${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v)} `)).join('')
    : 'surprise, bits: ' + [0, 2, 4, 6, SURPRISE_MAX_BITS].map((b) => paint(surpriseColour(b), ` ${b}${b === SURPRISE_MAX_BITS ? '+' : ''} `)).join('');
  const copyLegend = copies ? `  ${chalk.underline('underlined')}: copied` : '';
  const lines = [`${legend}  ${trace.bitsPerChar.toFixed(3)} bits/char over ${trace.length} characters${copyLegend}`];
  let line = '', width = 0;
  [...trace.text].forEach((char, i) => {
    const sign = visible(char);
    const w = Math.max(1, stringWidth(sign));
    if (width + w > columns) {
      lines.push(line);
      (line = ''), (width = 0);
    }
    line += paint(colourAt(i), sign, i);
    width += w;
    if (char === '\n') {
      lines.push(line);
      (line = ''), (width = 0);
    }
  });
  if (line) lines.push(line);
  if (copies) lines.push(...copyList(trace, copies));
  return lines.join('\n') + '\n';
}

/**
 * Without colour: one row per character with its surprisal, the shown cell's value, the copied span it is
 * in (when copies were looked for: [k] of the list after the table) and the top guesses for the next.
 */
export function plainTable(trace: ActivationTrace, cell: ShownCell | null, copies: readonly CopiedSpan[] | null): string {
  const quote = (c: string) => JSON.stringify(c);
  const copied = copyNumbers(trace.length, copies ?? []);
  const header = ['char'.padEnd(6), '   bits', ...(cell ? [`${cell.layer}:${cell.cell}`.padStart(7)] : []), ...(copies ? [' copy'] : []), '  next: top guesses'];
  const rows = Array.from({ length: trace.length }, (_, i) => trace.at(i)).map((a, i) => [
    quote(a.char).padEnd(6),
    a.surprisal.toFixed(2).padStart(7),
    ...(cell ? [cell.values[i].toFixed(3).padStart(7)] : []),
    ...(copies ? [(copied[i] > 0 ? `[${copied[i]}]` : '').padStart(5)] : []),
    '  ' + a.top.map((g) => `${quote(g.char)} ${(g.prob * 100).toFixed(1)}%`).join('  '),
  ].join(' '));
  return [header.join(' '), ...rows, ...(copies ? copyList(trace, copies) : [])].join('\n') + '\n';
}
