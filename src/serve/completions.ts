import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { describeChars } from '../data/vocab.js';
import { rowSeed, type FinishReason, type Piece, type RowOptions } from '../sample/batch.js';
import { Rng } from '../util/rng.js';
import { ApiError } from './errors.js';
import type { CompletionRequest } from './request.js';
import type { RowListener, Scheduler } from './scheduler.js';

/** The server's limits on one request. */
export interface Caps {
  /** The largest max_tokens. */
  maxTokens: number;
  /** The most choices (prompts × n). */
  maxChoices: number;
}

/** The rows a request asks for, choice k = prompt p × n + j, or a 4xx naming the field at fault. */
export function rowsOf(request: CompletionRequest, vocab: Scheduler['vocab'], caps: Caps): RowOptions[] {
  const { prompt: prompts, n, max_tokens: length, seed, temperature } = request;
  if (length > caps.maxTokens) throw new ApiError(400, `max_tokens ${length} is above this server's limit of ${caps.maxTokens} (charnn serve --max-tokens)`, 'max_tokens', 'above_limit');
  if (n > caps.maxChoices) throw new ApiError(400, `n ${n} is above this server's limit of ${caps.maxChoices} (charnn serve --max-n)`, 'n', 'above_limit');
  if (prompts.length * n > caps.maxChoices) {
    throw new ApiError(400, `${prompts.length} prompts × n ${n} is ${prompts.length * n} choices, above this server's limit of ${caps.maxChoices} (charnn serve --max-n)`, 'prompt', 'above_limit');
  }
  prompts.forEach((prompt, p) => {
    const missing = vocab.missing(prompt);
    const which = prompts.length > 1 ? `prompt ${p}` : 'the prompt';
    if (missing.length > 0) throw new ApiError(400, `${which} has ${missing.length} character(s) the model does not know: ${describeChars(missing)}`, 'prompt', 'unknown_characters');
  });
  return prompts.flatMap((prompt, p) => Array.from({ length: n }, (_, j): RowOptions => ({
    prime: prompt, length, stop: request.stop,
    // Temperature 0 is greedy, as OpenAI's API has it.
    temperature: temperature || undefined, argmax: temperature === 0,
    topK: request.top_k ?? undefined, topP: request.top_p ?? undefined,
    rng: new Rng(seed != null ? rowSeed(seed, p * n + j) : Math.floor(Math.random() * 2 ** 32)),
    echo: request.echo === true, logprobs: request.logprobs,
  })));
}

/**
 * One choice's text on its way out. Generated characters that might be the start of a stop string are
 * held back until they are not; when the row stops, the stop string is dropped (OpenAI's API returns
 * the text before it; `charnn sample` prints it).
 */
class Choice {
  finish: FinishReason | null = null;
  /** Characters the model generated, the stop string included (the usage counts them). */
  generated = 0;
  /** Characters sent so far: the offset of the next. */
  offset = 0;
  /** Whether a chunk has carried its finish_reason. */
  announced = false;
  private ready: Piece[] = [];
  private held: Piece[] = [];
  /** The longest stop string's length: a tail that could begin one is shorter. */
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(0, ...stops.map((s) => s.length));
  }

  receive(pieces: Piece[], finish: FinishReason | null): void {
    for (const piece of pieces) {
      if (piece.prompt) this.ready.push(piece);
      else {
        this.held.push(piece);
        this.generated++;
      }
    }
    this.finish = finish;
    let keep = finish === null ? this.heldBack() : 0;
    if (finish === 'stop') {
      const text = this.held.map((p) => p.char).join('');
      const stop = this.stops.filter((s) => text.endsWith(s)).sort((a, b) => b.length - a.length)[0] ?? '';
      this.held.length -= [...stop].length;
      keep = 0;
    }
    this.ready.push(...this.held.splice(0, this.held.length - keep));
  }

  /** Ends a choice that has not finished (the server is stopping): its text so far, finish_reason length. */
  cut(): void {
    if (this.finish === null) this.receive([], 'length');
  }

  /** The pieces ready to send, taken. */
  take(): Piece[] {
    const out = this.ready;
    this.ready = [];
    this.offset += out.length;
    return out;
  }

  /** How many of the held pieces at the end could still begin a stop string. */
  private heldBack(): number {
    for (let k = Math.min(this.held.length, this.longest - 1); k > 0; k--) {
      const tail = this.held.slice(-k).map((p) => p.char).join('');
      if (this.stops.some((s) => s.length > tail.length && s.startsWith(tail))) return k;
    }
    return 0;
  }
}

/** OpenAI's logprobs object for pieces starting at character `offset` (null when none were asked for). */
function logprobsOf(pieces: Piece[], offset: number, wanted: boolean) {
  if (!wanted) return null;
  return {
    tokens: pieces.map((p) => p.char),
    token_logprobs: pieces.map((p) => p.logprob),
    top_logprobs: pieces.map((p) => (p.top ? Object.fromEntries(p.top) : null)),
    text_offset: pieces.map((_, i) => offset + i),
  };
}

/**
 * The least time between two writes to a stream, after its first: the chunks of the steps in between go
 * out in one write. A write per client per step cost as much as the step's GEMM at 32 clients (a write to
 * a loopback socket does the receiver's TCP work too); 50 writes a second still read as a continuous stream.
 */
const WRITE_MS = 20;

/**
 * A completion request in flight: receives its rows' pieces from the scheduler and writes the answer,
 * whole as one JSON object, or streamed as server-sent events (one chunk per step, then `[DONE]`); a
 * stream's chunks go out at most once per WRITE_MS, its first and its last at once.
 */
export class Completion implements RowListener {
  readonly id = `cmpl-${randomUUID()}`;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly choices: Choice[];
  private readonly pieces: Piece[][]; // a whole answer's pieces per choice
  private ended = false;
  /** The start of every streamed chunk, up to its choices: `data: {"id":…,"choices":[`. */
  private readonly chunkHead: string;
  /** Chunks made since the last write. */
  private pending = '';
  /** When the stream was last written to (performance.now()). */
  private lastWrite = -Infinity;
  /** The write waiting for WRITE_MS to pass since the last. */
  private timer: NodeJS.Timeout | null = null;
  /** When the stream's first chunk was written (performance.now()); null before, and for an answer sent whole. */
  firstWrite: number | null = null;
  cancel: () => void = () => {};

  constructor(
    private readonly request: CompletionRequest, rows: number, private readonly res: ServerResponse,
    private readonly onEnd: (completion: Completion) => void, private readonly onFail: (err: unknown) => void,
  ) {
    this.choices = Array.from({ length: rows }, () => new Choice(request.stop));
    this.pieces = this.choices.map(() => []);
    this.chunkHead = `data: ${JSON.stringify({ ...this.head(), choices: [] }).slice(0, -2)}`;
    if (request.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.flushHeaders();
    }
  }

  /** Characters generated over all choices. */
  get generated(): number {
    return this.choices.reduce((sum, c) => sum + c.generated, 0);
  }

  get done(): boolean {
    return this.ended;
  }

  deliver(index: number, pieces: Piece[], finish: FinishReason | null): void {
    this.choices[index].receive(pieces, finish);
  }

  flush(): void {
    if (this.ended || this.res.destroyed) return;
    if (this.request.stream) this.makeChunk();
    else for (let i = 0; i < this.choices.length; i++) this.pieces[i].push(...this.choices[i].take());
    if (this.choices.every((c) => c.finish !== null)) this.end();
  }

  send(): void {
    if (this.pending.length === 0 || this.timer) return;
    const wait = this.lastWrite + WRITE_MS - performance.now();
    if (wait <= 0) this.write();
    else this.timer = setTimeout(() => this.write(), wait);
  }

  fail(err: unknown): void {
    this.write();
    this.ended = true;
    this.onEnd(this);
    this.onFail(err);
  }

  /** Ends the answer now (the server is stopping): every choice with what it has, cut at length. */
  stop(): void {
    this.cancel();
    for (const choice of this.choices) choice.cut();
    this.flush();
  }

  /** This step's chunk, if any choice has something to say, added to the pending ones. */
  private makeChunk(): void {
    const choices = [];
    for (const [index, choice] of this.choices.entries()) {
      const offset = choice.offset;
      const pieces = choice.take();
      if (pieces.length === 0 && (choice.finish === null || choice.announced)) continue;
      choice.announced = choice.finish !== null;
      choices.push(JSON.stringify({ text: pieces.map((p) => p.char).join(''), index, logprobs: logprobsOf(pieces, offset, this.request.logprobs !== null), finish_reason: choice.finish }));
    }
    if (choices.length > 0) this.pending += `${this.chunkHead}${choices.join(',')}]}\n\n`;
  }

  /** Writes the pending chunks now. */
  private write(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0 || this.res.destroyed) return;
    this.res.write(this.pending);
    this.pending = '';
    this.lastWrite = performance.now();
    this.firstWrite ??= this.lastWrite;
  }

  private end(): void {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.cancel();
    if (this.request.stream) {
      if (this.request.stream_options?.include_usage) this.pending += `data: ${JSON.stringify({ ...this.head(), choices: [], usage: this.usage() })}\n\n`;
      this.res.end(`${this.pending}data: [DONE]\n\n`);
      this.pending = '';
      this.firstWrite ??= performance.now();
    } else {
      const choices = this.choices.map((choice, index) => ({
        text: this.pieces[index].map((p) => p.char).join(''), index,
        logprobs: logprobsOf(this.pieces[index], 0, this.request.logprobs !== null), finish_reason: choice.finish,
      }));
      const body = JSON.stringify({ ...this.head(), choices, usage: this.usage() });
      this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    }
    this.onEnd(this);
  }

  private head() {
    return { id: this.id, object: 'text_completion', created: this.created, model: this.request.model };
  }

  private usage() {
    const prompt = this.request.prompt.reduce((sum, p) => sum + [...p].length, 0);
    return { prompt_tokens: prompt, completion_tokens: this.generated, total_tokens: prompt + this.generated };
  }
}
