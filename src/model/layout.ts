/**
 * Where everything lives in the heap. Parameters are declared first and packed into one region
 * [0, P); their gradients mirror them at [P, 2P) and optimizer state takes [2P, 4P). The activation
 * arena follows. Offsets are in floats, aligned to 4 so SIMD kernels see 16-byte aligned rows.
 */
export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset of the weights in the heap; the gradient is at offset + the padded parameter total. */
  readonly offset: number;
  /** Number of floats (the product of the shape). */
  readonly size: number;
}

const ALIGN = 4;

export function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** The parameters of a model, in declaration order (which is also the checkpoint order). */
export class ParamTable {
  readonly params: Param[] = [];
  /** Padded size of the parameter region. */
  size = 0;

  add(name: string, shape: readonly number[]): Param {
    const size = shape.reduce((a, b) => a * b, 1);
    const param = { name, shape, offset: this.size, size };
    this.params.push(param);
    this.size = alignUp(this.size + size);
    return param;
  }

  /** The number of trainable weights (without padding). */
  get count(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }
}

/** A bump allocator for activations and caches, starting after the parameter, gradient and optimizer regions. */
export class Arena {
  constructor(public end: number) {}

  alloc(size: number): number {
    const offset = this.end;
    this.end = alignUp(this.end + size);
    return offset;
  }
}
