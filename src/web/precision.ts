/**
 * Weights at a lower precision, for pages and modules that must be small: each tensor is stored as f32
 * (exact), f16 (IEEE half, rounded to nearest even) or int8 (groups of INT8_GROUP values sharing one f32
 * scale, absmax / 127), and turned back into f32 on load. Pure TypeScript: the CLI encodes, the browser decodes.
 *
 * Byte layouts, little-endian, per tensor of n values:
 *   f32:  n × 4 bytes
 *   f16:  the n low bytes, then the n high bytes (split so that deflate finds the repetitive exponents)
 *   int8: ceil(n / INT8_GROUP) f32 scales, then n signed bytes
 */
export type Precision = 'f32' | 'f16' | 'int8';
export const PRECISIONS: readonly Precision[] = ['f32', 'f16', 'int8'];

const INT8_GROUP = 64;

/** Bytes a tensor of n values takes at this precision. */
export function encodedSize(precision: Precision, n: number): number {
  switch (precision) {
    case 'f32':
      return 4 * n;
    case 'f16':
      return 2 * n;
    case 'int8':
      return 4 * Math.ceil(n / INT8_GROUP) + n;
  }
}

export function encodeTensor(precision: Precision, values: Float32Array): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(encodedSize(precision, n));
  const view = new DataView(out.buffer);
  switch (precision) {
    case 'f32':
      for (let i = 0; i < n; i++) view.setFloat32(4 * i, values[i], true);
      break;
    case 'f16':
      for (let i = 0; i < n; i++) {
        const h = toHalf(values[i]);
        out[i] = h & 0xff;
        out[n + i] = h >>> 8;
      }
      break;
    case 'int8': {
      const groups = Math.ceil(n / INT8_GROUP);
      for (let g = 0; g < groups; g++) {
        const end = Math.min(n, (g + 1) * INT8_GROUP);
        let max = 0;
        for (let i = g * INT8_GROUP; i < end; i++) max = Math.max(max, Math.abs(values[i]));
        const scale = Math.fround(max / 127);
        view.setFloat32(4 * g, scale, true);
        for (let i = g * INT8_GROUP; i < end; i++) out[4 * groups + i] = (scale === 0 ? 0 : Math.round(values[i] / scale)) & 0xff;
      }
      break;
    }
  }
  return out;
}

/** The n f32 values of a tensor encoded by encodeTensor, from `bytes` at `offset`. */
export function decodeTensor(precision: Precision, bytes: Uint8Array, offset: number, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, encodedSize(precision, n));
  const values = new Float32Array(n);
  switch (precision) {
    case 'f32':
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(4 * i, true);
      break;
    case 'f16':
      for (let i = 0; i < n; i++) values[i] = fromHalf(view.getUint8(i) | (view.getUint8(n + i) << 8));
      break;
    case 'int8': {
      const groups = Math.ceil(n / INT8_GROUP);
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(4 * Math.floor(i / INT8_GROUP), true) * view.getInt8(4 * groups + i);
      break;
    }
  }
  return values;
}

/** A tensor as it comes back after encoding at this precision (what a page or module computes with). */
export function roundTrip(precision: Precision, values: Float32Array): Float32Array {
  return decodeTensor(precision, encodeTensor(precision, values), 0, values.length);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE half-precision bits nearest to x (ties to even; overflow to infinity). */
function toHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  let shift = 13, half = (e << 10) | (mantissa >>> 13);
  if (e <= 0) {
    // A subnormal half: the implicit 1 becomes explicit and the mantissa shifts further.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    shift = 14 - e;
    half = mantissa >>> shift;
  }
  const rest = mantissa & ((1 << shift) - 1), halfway = 1 << (shift - 1);
  // A carry out of the mantissa rightly bumps the exponent.
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
  return sign | half;
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
