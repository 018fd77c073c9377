import chalk, { Chalk, chalkStderr } from 'chalk';

/** Colours for stderr and stdout: none when NO_COLOR is set or the stream is not a terminal. */
export const stderrStyle = process.env.NO_COLOR ? new Chalk({ level: 0 }) : chalkStderr;
export const stdoutStyle = process.env.NO_COLOR ? new Chalk({ level: 0 }) : chalk;

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
