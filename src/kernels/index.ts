import { UsageError } from '../util/errors.js';
import { JsKernels } from './js.js';
import { wasmAvailable, wasmUnavailableReason, WasmKernels } from './wasm.js';
import type { BackendName, Kernels } from './kernels.js';

export type { BackendName, Kernels } from './kernels.js';

export const BACKENDS: readonly BackendName[] = ['js', 'wasm'];

/** A backend with a fresh zeroed heap of `floats` float32 values. */
export function createKernels(backend: BackendName, floats: number): Kernels {
  switch (backend) {
    case 'js':
      return new JsKernels(new Float32Array(floats));
    case 'wasm':
      if (!wasmAvailable()) throw new UsageError(`the wasm backend is not available: ${wasmUnavailableReason()} (or use --backend js)`);
      return WasmKernels.create(floats);
    default:
      throw new UsageError(`unknown backend ${JSON.stringify(backend)}: use ${BACKENDS.map((b) => `'${b}'`).join(' or ')}`);
  }
}

/** The backend used when none is asked for: wasm where this runtime compiles the built module (SIMD, threads). */
export function defaultBackend(): BackendName {
  return wasmAvailable() ? 'wasm' : 'js';
}
