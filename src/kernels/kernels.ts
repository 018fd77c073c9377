/**
 * The numeric kernels, one interface with three backends: `js` (plain TypeScript, the reference), `wasm`
 * (WebAssembly SIMD) and `native` (a Node addon: the system's BLAS and C). Every kernel works on ONE
 * Float32Array, the heap, that holds parameters, gradients, optimizer state and the activation arena;
 * arguments are offsets into it, counted in floats. So the WebAssembly and native backends read the same
 * memory without copies, and worker threads can share it.
 *
 * All matrices are row-major. `ld*` is the distance between rows (the row length when not a sub-block).
 *
 * LSTM gate order, set once here and used everywhere: a gate row of width 4H is [i | f | o | g]
 * (input, forget, output gates through a sigmoid, candidate g through tanh), as in torch-rnn.
 * GRU gate order: a row of width 3H is [r | z | n] (reset, update, new), with PyTorch's equations.
 */
export type BackendName = 'js' | 'wasm' | 'native';

export interface Kernels {
  readonly name: BackendName;
  /** Every offset below indexes this array. */
  readonly heap: Float32Array;

  /** C[M×N] = op(A)[M×K] · op(B)[K×N], or C += … when `accumulate`. op(X) is X or Xᵀ. */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number,
    c: number, ldc: number, accumulate: boolean,
  ): void;

  /** out[r, :] = bias[:] for r < rows (rows of width n, contiguous). Starts a GEMM that then accumulates. */
  fillRows(rows: number, n: number, bias: number, out: number): void;
  /** out[r, :] = table[index[r], :] (+ out[r, :] when accumulate): a one-hot input times a matrix. */
  gatherRows(rows: number, n: number, index: Int32Array, indexStart: number, table: number, out: number, accumulate: boolean): void;
  /** table[index[r], :] += src[r, :]: the gradient of gatherRows. */
  scatterAddRows(rows: number, n: number, index: Int32Array, indexStart: number, src: number, table: number): void;
  /** sum[:] += Σ_r src[r, :]: the gradient of a bias broadcast over rows. */
  addColumnSums(rows: number, n: number, src: number, sum: number): void;

  /**
   * LSTM cell, one step for B rows. gates [B,4H] holds pre-activations and is squashed in place;
   * c = f⊙cPrev + i⊙g; tanhC = tanh(c); h = o⊙tanhC. c, tanhC, h: [B,H].
   */
  lstmForward(B: number, H: number, gates: number, cPrev: number, c: number, tanhC: number, h: number): void;
  /**
   * Backward of lstmForward. dh [B,H] is the gradient into h; dc [B,H] holds the gradient into c from the
   * next step and is overwritten with the gradient into cPrev. dGates [B,4H] receives pre-activation grads.
   */
  lstmBackward(
    B: number, H: number, gates: number, cPrev: number, tanhC: number,
    dh: number, dc: number, dGates: number,
  ): void;

  /**
   * GRU cell (PyTorch's equations), one step. gx [B,3H] = x·Wx + bx and gh [B,3H] = hPrev·Wh + bh are
   * given; r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r⊙gh_n), h = (1−z)⊙n + z⊙hPrev.
   * gx is overwritten with the activations [r | z | n]; gh is kept (its n part is needed backward).
   */
  gruForward(B: number, H: number, gx: number, gh: number, hPrev: number, h: number): void;
  /**
   * Backward of gruForward. dh [B,H] is the gradient into h; the part of the gradient into hPrev that
   * does not pass through Wh (dh⊙z) is ADDED to dhPrev [B,H]. dgx, dgh [B,3H] receive the gradients of
   * the pre-activations gx and gh.
   */
  gruBackward(
    B: number, H: number, gx: number, gh: number, hPrev: number,
    dh: number, dhPrev: number, dgx: number, dgh: number,
  ): void;

  /** h = tanh(h) in place over n floats (the plain RNN cell after its two GEMMs). */
  tanhForward(n: number, h: number): void;
  /** dPre = dh ⊙ (1 − h²) over n floats: the backward of tanhForward given its output h. */
  tanhBackward(n: number, h: number, dh: number, dPre: number): void;

  /**
   * Softmax cross-entropy over rows of logits [N,V] against targets. Logits are replaced by probabilities.
   * Returns the summed loss in nats (double precision).
   */
  softmaxCrossEntropy(N: number, V: number, logits: number, targets: Int32Array, targetStart: number): number;
  /** dLogits = scale · (probs − onehot(targets)), in place over probs [N,V]. */
  softmaxCrossEntropyBackward(N: number, V: number, probs: number, targets: Int32Array, targetStart: number, scale: number): void;

  /** x ⊙= mask over n floats (dropout: the mask holds 0 or 1/(1−p)). Used forward and backward. */
  multiply(n: number, x: number, mask: number): void;
}
