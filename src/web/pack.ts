import type { Checkpoint } from '../checkpoint/format.js';
import { describeParams, type CellType, type ModelConfig } from '../model/model.js';
import { decodeTensor, encodedSize, encodeTensor, PRECISIONS, type Precision } from './precision.js';

/** What a page or module tells about its model (shown at the top of the page). */
export interface ModelFacts {
  /** The run's name: the folder of its checkpoint. */
  name: string;
  cell: CellType;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  params: number;
  /** The corpus trained on: its name and size in characters. */
  corpus: string;
  corpusChars: number;
  /** Best validation loss in nats/char (null: never evaluated). */
  valLoss: number | null;
  iterations: number;
  /** When the checkpoint was written (ISO 8601). */
  savedAt: string;
  precision: Precision;
}

/**
 * A model as a page or module carries it: the shape, the vocabulary and the weights, every tensor in
 * checkpoint order (describeParams) encoded at `precision` (see precision.ts), concatenated, compressed
 * with deflate (raw) and written in base64. Plain JSON, so it can sit in a <script> or an ES module.
 */
export interface PackedModel {
  format: 'charnn-web-model';
  version: 1;
  facts: ModelFacts;
  model: ModelConfig;
  vocab: string[];
  weights: string;
}

export async function packModel(ckpt: Checkpoint, precision: Precision, about: { name: string; savedAt: string }): Promise<PackedModel> {
  const params = describeParams(ckpt.model);
  const encoded = params.map((p) => encodeTensor(precision, ckpt.tensors.get(p.name)!.data));
  const raw = new Uint8Array(encoded.reduce((n, e) => n + e.length, 0));
  encoded.reduce((at, e) => (raw.set(e, at), at + e.length), 0);
  const { training } = ckpt;
  return {
    format: 'charnn-web-model',
    version: 1,
    facts: {
      ...about, cell: ckpt.model.cell, layers: ckpt.model.layers, hiddenSize: ckpt.model.hiddenSize, vocabSize: ckpt.vocab.length,
      params: params.reduce((n, p) => n + p.size, 0), corpus: training.corpus.name, corpusChars: training.corpus.chars,
      valLoss: training.bestValLoss ?? training.lastValLoss, iterations: training.iteration, precision,
    },
    model: ckpt.model,
    vocab: [...ckpt.vocab],
    weights: toBase64(await transform(raw, new CompressionStream('deflate-raw'))),
  };
}

/** The weights of a packed model as f32, one array per parameter in describeParams order. */
export async function unpackWeights(packed: PackedModel): Promise<Float32Array[]> {
  const { precision } = packed.facts;
  if (packed.format !== 'charnn-web-model' || !PRECISIONS.includes(precision)) throw new Error('this is not a model packed by charnn export');
  const raw = await transform(fromBase64(packed.weights), new DecompressionStream('deflate-raw'));
  let at = 0;
  return describeParams(packed.model).map((p) => {
    const values = decodeTensor(precision, raw, at, p.size);
    at += encodedSize(precision, p.size);
    return values;
  });
}

async function transform(bytes: Uint8Array<ArrayBuffer>, stream: CompressionStream | DecompressionStream): Promise<Uint8Array<ArrayBuffer>> {
  const response = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await response.arrayBuffer());
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
