import { UsageError } from '../util/errors.js';
import { JsKernels } from './js.js';
import type { BackendName, Kernels } from './kernels.js';

export type { BackendName, Kernels } from './kernels.js';

export const BACKENDS: readonly BackendName[] = ['js', 'wasm'];

/** A backend with a fresh zeroed heap of `floats` float32 values. */
export function createKernels(backend: BackendName, floats: number): Kernels {
  switch (backend) {
    case 'js':
      return new JsKernels(new Float32Array(floats));
    case 'wasm':
      throw new UsageError('the wasm backend is not built yet; use --backend js');
  }
}

/** The backend used when none is asked for. */
export function defaultBackend(): BackendName {
  return 'js';
}
