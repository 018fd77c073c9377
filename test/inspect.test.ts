import { describe, expect, it } from 'vitest';
import { modelFromCheckpoint } from '../src/checkpoint/weights.js';
import { Vocab } from '../src/data/vocab.js';
import { activations } from '../src/index.js';
import { traceActivations } from '../src/inspect/activations.js';
import { detectCells, saturatedCells, shownStates, textFeatures } from '../src/inspect/detectors.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';

const VOCAB = ['\n', ' ', '"', '(', ')', '.', 'A', 'a', 'b', 'c'];

describe('activations(checkpoint, text)', () => {
  it('gives each character its surprisal and the top guesses for the next: exact for a model that always predicts softmax(bias)', async () => {
    const bias = [0, 1, 0.5, -1, -1, 0, 0.2, 2, 1.5, -0.5];
    const ckpt = handMadeCheckpoint(VOCAB, { decoderBias: bias });
    const trace = await activations(ckpt, 'ab a');
    const z = bias.reduce((s, b) => s + Math.exp(b), 0);
    const p = (c: string) => Math.exp(bias[VOCAB.indexOf(c)]) / z;
    const chars = Array.from({ length: trace.length }, (_, i) => trace.at(i));
    expect(chars.map((a) => a.char)).toEqual(['a', 'b', ' ', 'a']);
    for (const a of chars) {
      expect(a.surprisal).toBeCloseTo(-Math.log2(p(a.char)), 5);
      expect(a.top.map((g) => g.char)).toEqual(['a', 'b', ' ', '"', 'A']); // biases 2, 1.5, 1, 0.5, 0.2
      expect(a.top[0].prob).toBeCloseTo(p('a'), 6);
    }
    expect(trace.bitsPerChar).toBeCloseTo((-2 * Math.log2(p('a')) - Math.log2(p('b')) - Math.log2(p(' '))) / 4, 5);
  });

  it('the states are those of the model stepped one character at a time from a newline, as the sampler steps it', async () => {
    const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 0.5, model: { layers: 2, hiddenSize: 8 } });
    const text = 'A "cab" (a b). '.repeat(6); // 90 characters: more than one chunk of 64
    const trace = traceActivations(ckpt, text, { backend: 'js' });
    const vocab = Vocab.fromChars(VOCAB);
    const model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 1, backend: 'js' });
    model.resetState(1);
    const input = new Int32Array(1);
    let logits = 0;
    const step = (token: number) => {
      input[0] = token;
      logits = model.forward(input, 1, 1, null);
      model.carryState();
    };
    step(vocab.startToken);
    [...text].forEach((char, i) => {
      const heap = model.k.heap;
      const row = heap.subarray(logits, logits + VOCAB.length);
      const max = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - max), 0);
      expect(trace.at(i).surprisal).toBeCloseTo(-Math.log2(Math.exp(row[vocab.indexOf(char)] - max) / z), 4);
      step(vocab.indexOf(char));
      model.layers.forEach((layer, l) => {
        expect([...trace.at(i).h[l]]).toEqual([...heap.subarray(layer.states[0].base, layer.states[0].base + 8)]);
        expect([...trace.at(i).c![l]]).toEqual([...heap.subarray(layer.states[1].base, layer.states[1].base + 8)]);
      });
    });
  });

  it('per-character h and c are views into one [N, H] array per layer', async () => {
    const trace = traceActivations(handMadeCheckpoint(VOCAB, { randomWeights: 0.5 }), 'abc');
    expect(trace.h[0].length).toBe(3 * 8);
    expect(trace.at(2).h[0].buffer).toBe(trace.h[0].buffer);
    expect(trace.at(2).h[0].byteOffset).toBe(2 * 8 * 4);
    expect(trace.at(1).c![0][3]).toBe(trace.c![0][8 + 3]);
  });

  it('a GRU or RNN has only h', async () => {
    for (const cell of ['gru', 'rnn'] as const) {
      const trace = traceActivations(handMadeCheckpoint(VOCAB, { randomWeights: 0.5, model: { cell } }), 'abc');
      expect(trace.c).toBeNull();
      expect(trace.at(0).c).toBeNull();
      expect(trace.at(0).h[0].length).toBe(8);
    }
  });

  it('characters outside the vocabulary are counted, listed and skipped', async () => {
    const trace = traceActivations(handMadeCheckpoint(VOCAB), 'a€bz€');
    expect(trace.text).toBe('ab');
    expect(trace.unknownChars).toBe(3);
    expect(trace.unknown).toEqual(['€', 'z']);
  });

  it('a text with no character the model knows is refused', async () => {
    expect(() => traceActivations(handMadeCheckpoint(VOCAB), 'zzz')).toThrow(/no characters the model knows/);
  });
});

describe('detectors', () => {
  const values = (text: string, id: string) => [...textFeatures([...text]).find((f) => f.id === id)!.values];

  it('compute the features of the text at every character', async () => {
    expect(values('a "bc" d', 'quote')).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
    expect(values('a “b” c', 'quote')).toEqual([0, 0, 1, 1, 1, 0, 0]);
    expect(values('(a[b])c)', 'brackets')).toEqual([1, 1, 2, 2, 1, 0, 0, 0]);
    expect(values('ab\ncd', 'column')).toEqual([0, 1, 2, 0, 1]);
    expect(values('ab\ncd', 'line-start')).toEqual([1, 0, 0, 1, 0]);
    expect(values('ab c1', 'word')).toEqual([1, 1, 0, 1, 1]);
    expect(values('ab cd', 'word-start')).toEqual([1, 0, 0, 1, 0]);
    expect(values('aBÉ1', 'upper')).toEqual([0, 1, 1, 0]);
    expect(values('a1٣', 'digit')).toEqual([0, 1, 1]);
    expect(values('a. b!\nc', 'sentence-end')).toEqual([0, 1, 1, 0, 1, 1, 0]);
  });

  it('find the cell that follows a feature, with its correlation', async () => {
    const text = [...'x (a (b) c) y (d) '.repeat(20)];
    const features = textFeatures(text);
    const depth = features.find((f) => f.id === 'brackets')!.values;
    const H = 4, N = text.length;
    const states = [new Float32Array(N * H), new Float32Array(N * H)];
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < H; j++) states[0][i * H + j] = Math.sin(i * (j + 1)); // noise
      states[1][i * H + 2] = -0.4 * depth[i] + 0.1; // layer 2, cell 2 counts the depth, downwards
    }
    const found = detectCells(features, states, H).find((d) => d.feature === 'brackets')!;
    expect(found.cells[0]).toMatchObject({ layer: 2, cell: 2 });
    expect(found.cells[0].r).toBeCloseTo(-1, 6);
    expect(Math.abs(found.cells[1].r)).toBeLessThan(0.9);
    // A feature the text does not have finds nothing.
    expect(detectCells(features, states, H).find((d) => d.feature === 'quote')!.cells).toEqual([]);
  });

  it('list the cells that are saturated most of the time', async () => {
    const H = 3, N = 100;
    const m = new Float32Array(N * H);
    for (let i = 0; i < N; i++) {
      m[i * H] = i < 90 ? 0.97 : 0; // 90% saturated
      m[i * H + 1] = i % 2 ? -0.99 : 0.99; // always
      m[i * H + 2] = 0.5;
    }
    expect(saturatedCells([m], H)).toEqual([{ layer: 1, cell: 1, fraction: 1 }, { layer: 1, cell: 0, fraction: 0.9 }]);
  });

  it('show tanh(c) for the LSTM and h for the others', async () => {
    const lstm = traceActivations(handMadeCheckpoint(VOCAB, { randomWeights: 2 }), 'abcabc');
    expect(shownStates(lstm)[0][5]).toBeCloseTo(Math.tanh(lstm.c![0][5]), 6);
    const gru = traceActivations(handMadeCheckpoint(VOCAB, { randomWeights: 2, model: { cell: 'gru' } }), 'abcabc');
    expect(shownStates(gru)[0]).toBe(gru.h[0]);
  });
});

describe('the activation trace', () => {
  it('holds every value once, in flat arrays, and builds one character\'s object on demand with at(i)', () => {
    const trace = traceActivations(handMadeCheckpoint(VOCAB, { randomWeights: 0.5, model: { layers: 2 } }), 'a(b)c.', { topK: 3 });
    const N = 6, H = 8;
    expect(trace.length).toBe(N);
    expect('chars' in trace).toBe(false);
    expect([trace.surprisal.length, trace.tokens.length, trace.topTokens.length, trace.topProbs.length, trace.h[1].length]).toEqual([N, N, N * 3, N * 3, N * H]);
    for (let i = 0; i < N; i++) {
      const a = trace.at(i);
      expect(a.char).toBe('a(b)c.'[i]);
      expect(a.char).toBe(trace.vocab[trace.tokens[i]]);
      expect(a.surprisal).toBe(trace.surprisal[i]);
      expect(a.top).toEqual([0, 1, 2].map((r) => ({ char: VOCAB[trace.topTokens[i * 3 + r]], prob: trace.topProbs[i * 3 + r] })));
      expect(a.top[0].prob).toBeGreaterThanOrEqual(a.top[1].prob);
      expect(a.h[1].buffer).toBe(trace.h[1].buffer);
      expect(a.c![0].byteOffset).toBe(i * H * 4);
    }
    expect(trace.at(-1)).toEqual(trace.at(N - 1));
    for (const outside of [N, -N - 1, 1.5]) expect(() => trace.at(outside)).toThrow(RangeError);
    // A copy with other fields (as viz makes when it reports unknown characters) still reads the same arrays.
    expect({ ...trace, unknownChars: 2 }.at(2)).toEqual(trace.at(2));
  });
});
