/**
 * The body of the ES module `charnn export --format module` writes: the file starts with
 * `const CHARNN_MODEL = {…}` (a PackedModel), then this, bundled. Import it from a page or a bundler:
 *
 *     import { facts, generate, feed, next, reset } from './lighthouse.mjs';
 */
import { WebModel, type NextOptions, type PackedModel, type SampleOptions } from './index.js';

declare const CHARNN_MODEL: PackedModel;

const model = await WebModel.open(CHARNN_MODEL);

/** The model: cell, size, corpus, validation loss, date, precision. */
export const facts = model.facts;
/** The characters it knows, in token order. */
export const vocab = model.vocab.chars;
/** The kernels it runs on here: 'wasm' (WebAssembly SIMD) or 'js'. */
export const backend = model.backend;

/** One sample with the options of `charnn sample`, as an async iterator of text pieces. */
export const generate = (options?: SampleOptions): AsyncGenerator<string> => model.generate(options);
/** Runs the model over text, moving its state (for the draws of next()). */
export const feed = (text: string): void => model.feed(text);
/** Draws options.length characters (default 1) after all that was fed and drawn, and feeds them back. */
export const next = (options?: NextOptions): string => model.next(options);
/** Forgets what was fed and drawn. */
export const reset = (): void => model.reset();
/** The k most likely next characters with their probabilities. */
export const likely = (k?: number): { char: string; probability: number }[] => model.likely(k);
