/**
 * The colour scales of `charnn viz`, shared by the terminal and the page (which receives them as
 * 256-entry palettes): surprise from white (0 bits) to deep red (SURPRISE_MAX_BITS or more); a cell's
 * activation on a diverging scale, blue (−1) through white (0) to red (+1). And the length from which
 * a span of a sample copied from the training text is marked, in both.
 */
export type Rgb = [number, number, number];

export const SURPRISE_MAX_BITS = 8;

/** Spans of a sample this long or longer that occur verbatim in the training text are marked as copies. */
export const COPY_MIN_LENGTH = 20;

const WHITE: Rgb = [255, 255, 255];
const RED: Rgb = [190, 20, 30];
const BLUE: Rgb = [30, 80, 200];

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as Rgb;
}

/** Surprise in bits → colour: white to red, saturating at SURPRISE_MAX_BITS. */
export function surpriseColour(bits: number): Rgb {
  return mix(WHITE, RED, Math.min(1, Math.max(0, bits / SURPRISE_MAX_BITS)) ** 0.8);
}

/** Activation in −1…1 → colour: blue, white, red. */
export function cellColour(value: number): Rgb {
  const v = Math.max(-1, Math.min(1, value));
  return v < 0 ? mix(WHITE, BLUE, -v) : mix(WHITE, RED, v);
}

/** The text colour that reads on a background: white on the dark ends of the scales, near-black elsewhere. */
export function inkOn([r, g, b]: Rgb): Rgb {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? [255, 255, 255] : [29, 29, 31];
}

const css = (rgb: Rgb) => '#' + rgb.map((x) => x.toString(16).padStart(2, '0')).join('');

/**
 * 256 CSS background colours and the text colour for each: entry q is the scale at q/255 of its range
 * (what the page looks up).
 */
export function palette(scale: 'surprise' | 'cell'): { background: string[]; ink: string[] } {
  const colours = Array.from({ length: 256 }, (_, q) => (scale === 'surprise' ? surpriseColour((q / 255) * SURPRISE_MAX_BITS) : cellColour((q / 255) * 2 - 1)));
  return { background: colours.map(css), ink: colours.map((rgb) => css(inkOn(rgb))) };
}
