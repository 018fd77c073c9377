/**
 * Line charts for the terminal, drawn in braille: every character cell is a 2×4 grid of dots, so a chart
 * of width × height cells has 2·width × 4·height points of resolution.
 */

export interface Series {
  label: string;
  points: readonly { x: number; y: number }[];
  /** Colours the cells of this series (identity when colour is off). */
  paint: (text: string) => string;
  /** Every other dot only: tells series apart without colour. */
  dotted?: boolean;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  xLabel?: string;
}

// The bit of the dot at (column 0–1, row 0–3) of a braille cell, whose characters are U+2800 + bits.
const DOT_BITS = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];

/**
 * The series as lines through their points, y axis labelled at top, middle and bottom, x range below,
 * then a legend. Series are drawn in order; a cell takes the colour of the last series with a dot in it.
 */
export function lineChart(series: readonly Series[], { width = 64, height = 12, xLabel = '' }: ChartOptions = {}): string[] {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (all.length === 0) return [];
  // A loop, not Math.min(...points): spreading a long history overflows the stack.
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const p of all) {
    x0 = Math.min(x0, p.x);
    x1 = Math.max(x1, p.x);
    y0 = Math.min(y0, p.y);
    y1 = Math.max(y1, p.y);
  }
  if (y1 === y0) {
    const pad = Math.abs(y0) * 0.1 || 1;
    y0 -= pad;
    y1 += pad;
  }
  const cols = 2 * width, rows = 4 * height;
  const column = (x: number) => (x1 > x0 ? Math.round(((x - x0) / (x1 - x0)) * (cols - 1)) : 0);
  const row = (y: number) => Math.round(((y1 - y) / (y1 - y0)) * (rows - 1));

  const dots = new Uint8Array(width * height); // braille bits per cell
  const owner = new Int16Array(width * height).fill(-1); // the series that last drew in each cell
  series.forEach((s, index) => {
    let dot = 0;
    const plot = (c: number, r: number) => {
      if (s.dotted && dot++ % 2 === 1) return;
      const cell = Math.floor(r / 4) * width + Math.floor(c / 2);
      dots[cell] |= DOT_BITS[c % 2][r % 4];
      owner[cell] = index;
    };
    let previous: [number, number] | null = null;
    for (const p of s.points) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      const c = column(p.x), r = row(p.y);
      if (previous === null) plot(c, r);
      else {
        // A straight line from the previous point: one dot per step along the longer axis.
        const [pc, pr] = previous;
        const steps = Math.max(Math.abs(c - pc), Math.abs(r - pr));
        for (let i = 1; i <= steps; i++) plot(Math.round(pc + ((c - pc) * i) / steps), Math.round(pr + ((r - pr) * i) / steps));
      }
      previous = [c, r];
    }
  });

  const decimals = Math.min(4, Math.max(2, Math.ceil(-Math.log10(y1 - y0)) + 1));
  const middle = Math.floor((height - 1) / 2);
  // Each label gives the value at the middle of its row of cells.
  const labels = new Map([0, middle, height - 1].map((r) => [r, (y1 - ((y1 - y0) * (4 * r + 1.5)) / (rows - 1)).toFixed(decimals)]));
  const gutter = Math.max(...[...labels.values()].map((l) => l.length));

  const lines: string[] = [];
  for (let r = 0; r < height; r++) {
    let text = '';
    for (let c = 0; c < width; ) {
      // Runs of cells of one series are painted at once.
      const who = owner[r * width + c];
      let run = '';
      for (; c < width && owner[r * width + c] === who; c++) {
        const bits = dots[r * width + c];
        run += bits === 0 ? ' ' : String.fromCharCode(0x2800 + bits);
      }
      text += who >= 0 ? series[who].paint(run) : run;
    }
    const label = labels.get(r);
    lines.push(`${(label ?? '').padStart(gutter)} ${label !== undefined ? '┤' : '│'}${text.trimEnd()}`);
  }
  const pad = ' '.repeat(gutter + 2);
  lines.push(`${' '.repeat(gutter + 1)}└${'─'.repeat(width)}`);
  const from = String(x0), to = String(x1);
  const room = width - from.length - to.length;
  const inner = xLabel.length + 2 <= room ? xLabel.padStart(Math.floor((room + xLabel.length) / 2)).padEnd(room) : ' '.repeat(Math.max(1, room));
  lines.push(`${pad}${from}${inner}${to}`);
  lines.push(pad + series.map((s) => `${s.paint(s.dotted ? '┈┈' : '──')} ${s.label}`).join('   '));
  return lines;
}
