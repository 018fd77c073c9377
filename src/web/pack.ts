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
 * with deflate (raw) and written in base 85. Plain JSON, so it can sit in a <script> or an ES module.
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
    weights: toBase85(await transform(raw, new CompressionStream('deflate-raw'))),
  };
}

/** The weights of a packed model as f32, one array per parameter in describeParams order. */
export async function unpackWeights(packed: PackedModel): Promise<Float32Array[]> {
  const { precision } = packed.facts;
  if (packed.format !== 'charnn-web-model' || !PRECISIONS.includes(precision)) throw new Error('this is not a model packed by charnn export');
  const raw = await transform(fromBase85(packed.weights), new DecompressionStream('deflate-raw'));
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

/**
 * Base 85: printable ASCII but " \ < > & ' ` $ ~, so the text sits in a JSON string inside a
 * <script> unescaped; 5 characters per 4 bytes (base64 takes 5⅓).
 */
const DIGITS = [...Array(94)].map((_, i) => String.fromCharCode(0x21 + i)).filter((c) => !`"\\<>&'\`$`.includes(c)).slice(0, 85).join('');
/** Character code → digit. */
const DIGIT_VALUES = new Uint8Array(128);
[...DIGITS].forEach((c, digit) => (DIGIT_VALUES[c.charCodeAt(0)] = digit));

/** Every 4 bytes (big-endian) → 5 digits, most significant first; a last group of n < 4 bytes → n + 1 digits. */
function toBase85(bytes: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 4) {
    const n = Math.min(4, bytes.length - i);
    let value = 0;
    for (let j = 0; j < 4; j++) value = value * 256 + (j < n ? bytes[i + j] : 0);
    let group = '';
    for (let j = 0; j < 5; j++, value = Math.floor(value / 85)) group = DIGITS[value % 85] + group;
    out.push(group.slice(0, n + 1));
  }
  return out.join('');
}

function fromBase85(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(Math.floor(text.length / 5) * 4 + Math.max(0, (text.length % 5) - 1));
  for (let i = 0, at = 0; i < text.length; i += 5) {
    const n = Math.min(5, text.length - i) - 1;
    let value = 0;
    // A short last group is padded with the highest digit, which rounds its bytes back up to what they were.
    for (let j = 0; j < 5; j++) value = value * 85 + (i + j < text.length ? DIGIT_VALUES[text.charCodeAt(i + j)] : 84);
    for (let j = 0; j < n; j++) bytes[at++] = Math.floor(value / 256 ** (3 - j)) % 256;
  }
  return bytes;
}
