import { UsageError } from '../util/errors.js';
import { JsKernels } from './js.js';
import { blasInfo, nativeAvailable, NativeKernels, nativeUnavailableReason } from './native.js';
import { wasmAvailable, wasmUnavailableReason, WasmKernels } from './wasm.js';
import type { BackendName, Kernels } from './kernels.js';

export type { BackendName, Kernels } from './kernels.js';

export const BACKENDS: readonly BackendName[] = ['js', 'wasm', 'native'];

/**
 * A backend with a fresh zeroed heap of `floats` float32 values. `sampling`: kernels for a model that
 * steps samples, which needs every row of a product computed alike whatever the number of rows (a sample
 * stepped among others gives the text it gives alone: js and wasm always do, native then leaves the BLAS
 * for its own loops) and, on wasm, the plain build, whose sums are the same on every machine and in the
 * browser (the relaxed build's fused multiply-add depends on the processor).
 */
export function createKernels(backend: BackendName, floats: number, { sampling = false } = {}): Kernels {
  switch (backend) {
    case 'js':
      return new JsKernels(new Float32Array(floats));
    case 'wasm':
      if (!wasmAvailable()) throw new UsageError(`the wasm backend is not available: ${wasmUnavailableReason()} (or use --backend js)`);
      return WasmKernels.create(floats, sampling ? 'plain' : 'fast');
    case 'native':
      return new NativeKernels(new Float32Array(floats), sampling);
    default:
      throw new UsageError(`unknown backend ${JSON.stringify(backend)}: use ${BACKENDS.slice(0, -1).map(quote).join(', ')} or ${quote(BACKENDS[BACKENDS.length - 1])}`);
  }
}

/**
 * The backend used when none is asked for: native where its addon loads (the system's BLAS), else wasm
 * where this runtime compiles the built module (SIMD, threads), else js.
 */
export function defaultBackend(): BackendName {
  return nativeAvailable() ? 'native' : wasmAvailable() ? 'wasm' : 'js';
}

/**
 * "<backend> kernels", with the BLAS the native ones run on, or why the native backend is not running when
 * it could not load: said once, where a user looks (charnn bench, train's start line).
 */
export function describeBackend(backend: BackendName): string {
  if (backend === 'native') return `native kernels (${blasInfo()})`;
  const reason = nativeUnavailableReason();
  return reason === undefined ? `${backend} kernels` : `${backend} kernels (native backend not built: ${reason}; see README)`;
}

const quote = (name: string): string => `'${name}'`;
