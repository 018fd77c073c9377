import chalk, { Chalk, chalkStderr } from 'chalk';
import type { Ora } from 'ora';

/** NO_COLOR (no-color.org): chalk itself reads only TERM, FORCE_COLOR and whether the stream is a terminal. */
const noColour = Boolean(process.env.NO_COLOR);

/** Colours for stderr and stdout: none when NO_COLOR is set or the stream is not a terminal. */
export const stderrStyle = noColour ? new Chalk({ level: 0 }) : chalkStderr;
export const stdoutStyle = noColour ? new Chalk({ level: 0 }) : chalk;

/**
 * Whether a line can be redrawn in place on `stream`: a terminal (not TERM=dumb, not CI: ora's own test)
 * whose width is known and not 0. Some CI and container terminals report 0 columns; ora divides by the
 * width, and its line count then turns infinite: it clears lines for ever and nothing else runs.
 */
export function canRedraw(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env.TERM !== 'dumb' && !('CI' in process.env) && (stream.columns ?? 0) > 0;
}

/** A status line on stderr; see statusLine. */
export interface StatusLine {
  /** Shows `text` as the status: redrawn in place, or else written as a plain line (see statusLine). */
  show(text: string): void;
  /** Writes a line of its own, above the status. */
  print(text: string): void;
  stop(): void;
}

/**
 * A spinner on stderr where it can redraw (canRedraw), else plain lines: `show` writes one when
 * `plainSeconds` have passed since the last line written (null: never). A terminal resized to 0 columns
 * stops the spinner and gets plain lines until it has a width again.
 */
export function statusLine(plainSeconds: number | null): StatusLine {
  const stream = process.stderr;
  let spinner: Ora | null = null;
  const startSpinner = ({ default: ora }: typeof import('ora')) => {
    spinner ??= ora({ stream, discardStdin: false, isEnabled: canRedraw(stream), color: noColour ? false : 'cyan' });
  };
  // ora is loaded only where stderr can show a spinner (or once it can, see onResize): it costs the start
  // of a run about 0.1 s of CPU, and a run into a file or a pipe (every run of the tests) never spins. In the
  // command line's bundle the import is a function call, done before the first status is shown.
  if (canRedraw(stream)) void import('ora').then(startSpinner);
  let lastLine = performance.now();
  const write = (text: string) => {
    lastLine = performance.now();
    stream.write(text + '\n'); // while the spinner spins, ora clears it before the write and redraws it after
  };
  const onResize = () => {
    if (spinner === null) {
      // A terminal that had no width at the start: ora is loaded now, and spins from the next status.
      if (canRedraw(stream)) void import('ora').then(startSpinner);
      return;
    }
    if (spinner.isEnabled === canRedraw(stream)) return;
    spinner.stop(); // clears the lines of its last frame, counted at the old width (a no-op when disabled)
    spinner.isEnabled = canRedraw(stream);
  };
  stream.on('resize', onResize);
  return {
    show(text) {
      if (spinner?.isEnabled) {
        spinner.text = text;
        if (!spinner.isSpinning) spinner.start();
      } else if (plainSeconds !== null && performance.now() - lastLine >= plainSeconds * 1000) write(text);
    },
    print: write,
    stop() {
      spinner?.stop();
      stream.off('resize', onResize);
    },
  };
}

/** 1234567 → "1.23M", for parameter counts and speeds. */
export function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** Seconds → "1h02m", "3m20s", "45s". */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** 1536 → "1.5 kB", 1.07e9 → "1.07 GB" (powers of 1000). */
export function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}
