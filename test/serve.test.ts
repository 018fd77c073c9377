import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charnn, hasStackTrace, syntheticText, tempDir } from './helpers/cli.js';
import { eventually, post, startServer, type RunningServer } from './helpers/serve.js';

let dir: string;
let server: RunningServer;
let client: OpenAI;
const MODEL = 'corpus';
const CKPT = 'checkpoints/corpus/best.json';

beforeAll(async () => {
  dir = tempDir('serve');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(8000));
  const r = await charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '60', '--eval-every', '30', '--lr', '0.01'], dir);
  expect(r.code, r.stderr).toBe(0);
  server = await startServer(['--max-n', '40', '--max-tokens', '100000000'], dir);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What `charnn sample` gives for these options: the prime, then the generated text (exactly: --json's, with no final newline added). */
async function cliSample(prime: string, length: number, seed: number, extra: string[] = []): Promise<string> {
  const r = await charnn(['sample', '--checkpoint', CKPT, '--prime', prime, '--length', String(length), '--seed', String(seed), '--json', ...extra], dir);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).text;
}

/** A streamed completion's text per choice, its finish reasons, and the chunks' count. */
async function streamed(params: Record<string, unknown>): Promise<{ texts: string[]; finish: (string | null)[]; chunks: number; usage: any }> {
  const stream = await client.completions.create({ model: MODEL, ...params, stream: true } as OpenAI.CompletionCreateParamsStreaming);
  const texts: string[] = [], finish: (string | null)[] = [];
  let chunks = 0, usage = null;
  for await (const chunk of stream) {
    chunks++;
    usage = chunk.usage ?? usage;
    for (const c of chunk.choices) {
      texts[c.index] = (texts[c.index] ?? '') + c.text;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  return { texts, finish, chunks, usage };
}

describe('charnn serve, through the official openai client', () => {
  it('says on its first line where it listens and which models it serves', () => {
    expect(server.stderr().split('\n')[0]).toBe(`charnn serve: listening on http://127.0.0.1:${server.port}, models: ${MODEL}`);
  });

  it('lists the models it serves', async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toEqual([MODEL]);
  });

  it('a seeded completion is exactly what charnn sample prints with the same seed and options', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: 'The lamp', max_tokens: 120, seed: 7, temperature: 0.8, top_p: 0.9 });
    const cli = await cliSample('The lamp', 120, 7, ['--temp', '0.8', '--top-p', '0.9']);
    expect('The lamp' + completion.choices[0].text).toBe(cli);
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(completion.usage).toEqual({ prompt_tokens: 8, completion_tokens: 120, total_tokens: 128 });
  });

  it("charnn's own top_k is accepted and sampled with as the CLI does", async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: 'a', max_tokens: 80, seed: 3, top_k: 3 } as OpenAI.CompletionCreateParamsNonStreaming);
    expect('a' + completion.choices[0].text).toBe(await cliSample('a', 80, 3, ['--top-k', '3']));
  });

  it('streams one chunk per step, the same text as the whole answer, then usage when asked', async () => {
    const whole = await client.completions.create({ model: MODEL, prompt: 'Sea ', max_tokens: 60, seed: 11 });
    const s = await streamed({ prompt: 'Sea ', max_tokens: 60, seed: 11, stream_options: { include_usage: true } });
    expect(s.texts).toEqual([whole.choices[0].text]);
    expect(s.finish).toEqual(['length']);
    expect(s.chunks).toBe(61); // 60 characters, then the usage
    expect(s.usage).toEqual({ prompt_tokens: 4, completion_tokens: 60, total_tokens: 64 });
  });

  it('n > 1 gives n choices; choice i is what charnn sample --seed s+i prints', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: 'The ', max_tokens: 50, n: 3, seed: 20 });
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (const c of completion.choices) expect('The ' + c.text).toBe(await cliSample('The ', 50, 20 + c.index));
    const s = await streamed({ prompt: 'The ', max_tokens: 50, n: 3, seed: 20 });
    expect(s.texts).toEqual(completion.choices.map((c) => c.text));
  });

  it('a prompt array gives n choices per prompt, prompt-major', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: ['a', 'b'], max_tokens: 10, n: 2, seed: 5 });
    expect(completion.choices).toHaveLength(4);
    expect('b' + completion.choices[3].text).toBe(await cliSample('b', 10, 8));
  });

  it('stop ends a choice at the stop string, which is left out of the text (finish_reason stop), streamed or not', async () => {
    const cli = await cliSample('', 400, 9, ['--stop', 'e ']);
    expect(cli.endsWith('e ')).toBe(true);
    const completion = await client.completions.create({ model: MODEL, prompt: '', max_tokens: 400, seed: 9, stop: ['e ', 'zzzz'] });
    expect(completion.choices[0].text).toBe(cli.slice(0, -2));
    expect(completion.choices[0].finish_reason).toBe('stop');
    const s = await streamed({ prompt: '', max_tokens: 400, seed: 9, stop: 'e ' });
    expect(s.texts).toEqual([cli.slice(0, -2)]);
    expect(s.finish).toEqual(['stop']);
  });

  it('logprobs gives each character its log-probability and the k most likely at its position', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: 'the ', max_tokens: 30, seed: 4, logprobs: 3 });
    const lp = completion.choices[0].logprobs!;
    expect(lp.tokens!.join('')).toBe(completion.choices[0].text);
    expect(lp.text_offset).toEqual([...Array(30).keys()]);
    lp.top_logprobs!.forEach((top, i) => {
      const values = Object.values(top!);
      expect(values).toHaveLength(3);
      expect(values.reduce((sum, v) => sum + Math.exp(v), 0)).toBeLessThanOrEqual(1 + 1e-9);
      expect(lp.token_logprobs![i]).toBeLessThanOrEqual(0);
      if (lp.tokens![i] in top!) expect(top![lp.tokens![i]]).toBe(lp.token_logprobs![i]);
      else expect(lp.token_logprobs![i]).toBeLessThanOrEqual(Math.min(...values));
    });
  });

  it("echo with max_tokens 0 and logprobs scores the prompt as charnn eval does (its 32 streams as a prompt array)", async () => {
    // eval reads a text of n characters as B = 32 streams from a fresh state, stream b the characters
    // [b·S, b·S + S] with S = ⌊(n−1)/32⌋, scoring the S after its first: 32 prompts of S + 1 characters.
    const text = [...syntheticText(600, 3)].slice(0, 545);
    fs.writeFileSync(path.join(dir, 'held-out.txt'), text.join(''));
    const evaluation = JSON.parse((await charnn(['eval', CKPT, 'held-out.txt', '--json'], dir)).stdout);
    const S = Math.floor((text.length - 1) / 32);
    const prompts = Array.from({ length: 32 }, (_, b) => text.slice(b * S, b * S + S + 1).join(''));
    const completion = await client.completions.create({ model: MODEL, prompt: prompts, max_tokens: 0, echo: true, logprobs: 0 });
    let total = 0, chars = 0;
    completion.choices.forEach((c, b) => {
      expect(c.text).toBe(prompts[b]);
      expect(c.logprobs!.token_logprobs![0]).toBeNull();
      for (const lp of c.logprobs!.token_logprobs!.slice(1)) {
        total -= lp;
        chars++;
      }
    });
    expect(chars).toBe(evaluation.chars);
    expect(total / chars).toBeCloseTo(evaluation.lossNats, 5);
    expect(completion.usage!.completion_tokens).toBe(0);
  });

  it('64 concurrent streams all complete, each with its length and the text it gets alone', async () => {
    const requests = Array.from({ length: 64 }, (_, i) => ({ prompt: i % 2 ? 'The ' : '', max_tokens: 10 + (i % 9) * 7, seed: 100 + i, temperature: 0.5 + (i % 4) * 0.25 }));
    const together = await Promise.all(requests.map((r) => streamed(r)));
    for (const [i, r] of requests.entries()) {
      expect([...together[i].texts[0]].length).toBe(r.max_tokens);
      expect(together[i].finish).toEqual(['length']);
    }
    for (const [i, r] of requests.entries()) expect((await streamed(r)).texts).toEqual(together[i].texts);
  });

  it('a client that disconnects mid-stream frees its row at once', async () => {
    const aborter = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'a', max_tokens: 100_000_000, stream: true }), signal: aborter.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    const rows = async () => (await (await fetch(`${server.url}/health`)).json()).models[MODEL].rows;
    expect(await rows()).toBe(1);
    aborter.abort();
    await eventually(async () => (await rows()) === 0);
    await eventually(async () => /POST \/v1\/completions 200 \d+ chars \d+ ms \(client gone\)/.test(server.stderr()));
    expect((await client.completions.create({ model: MODEL, prompt: 'a', max_tokens: 5 })).choices[0].text).toHaveLength(5);
  });
});

describe('charnn serve refuses bad requests with OpenAI\'s error shape', () => {
  const refusals: [string, unknown, number, string | null, RegExp][] = [
    ['malformed JSON', '{"model": ', 400, null, /not valid JSON/],
    ['a body that is not an object', '[1, 2]', 400, null, /must be a JSON object/],
    ['no model', { prompt: 'a' }, 400, 'model', /model is required/],
    ['an unknown model', { model: 'nope', prompt: 'a' }, 404, 'model', /"nope" is not served here.*corpus/],
    ['max_tokens of the wrong type', { model: MODEL, max_tokens: '5' }, 400, 'max_tokens', /expected number/],
    ['a prompt of token ids', { model: MODEL, prompt: [1, 2] }, 400, 'prompt', /string or an array of strings/],
    ['a negative temperature', { model: MODEL, temperature: -1 }, 400, 'temperature', />=0/],
    ['top_p above 1', { model: MODEL, top_p: 1.5 }, 400, 'top_p', /<=1/],
    ['a fractional n', { model: MODEL, n: 1.5 }, 400, 'n', /int/],
    ['a seed past 32 bits', { model: MODEL, seed: 2 ** 32 }, 400, 'seed', /4294967295/],
    ['max_tokens above the cap', { model: MODEL, max_tokens: 100_000_001 }, 400, 'max_tokens', /limit of 100000000 \(charnn serve --max-tokens\)/],
    ['n above the cap', { model: MODEL, n: 41 }, 400, 'n', /limit of 40 \(charnn serve --max-n\)/],
    ['prompts × n above the cap', { model: MODEL, prompt: ['a', 'b', 'c'], n: 20 }, 400, 'prompt', /60 choices, above this server's limit of 40/],
    ['characters the model does not know', { model: MODEL, prompt: 'a🦊b€' }, 400, 'prompt', /2 character\(s\) the model does not know/],
  ];
  for (const [what, body, status, param, message] of refusals) {
    it(`${what}: ${status}`, async () => {
      const { status: got, json } = await post(server.url, body);
      expect(got).toBe(status);
      expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.param).toBe(param);
      expect(json.error.message).toMatch(message);
    });
  }

  it('a body over 1 MB: 413', async () => {
    const { status, json } = await post(server.url, JSON.stringify({ model: MODEL, prompt: 'a'.repeat(1_100_000) }));
    expect(status).toBe(413);
    expect(json.error.code).toBe('request_too_large');
  });

  it('an unknown route: 404; a known route with the wrong method: 405', async () => {
    const unknown = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('unknown_url');
    const wrong = await fetch(`${server.url}/v1/completions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('the openai client sees the refusal as its own error, with the status and message', async () => {
    await expect(client.completions.create({ model: 'nope', prompt: 'a' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('the server lives on after all of them, and logs one line per request', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(server.stderr()).toMatch(/^POST \/v1\/completions 413 0 chars \d+ ms$/m);
    // A stream's line says when its first chunk went out; an answer sent whole has none.
    expect(server.stderr()).toMatch(/^POST \/v1\/completions 200 60 chars \d+ ms \(first chunk \d+ ms\)$/m);
    expect(server.stderr()).toMatch(/^POST \/v1\/completions 200 120 chars \d+ ms$/m);
    expect(hasStackTrace(server.stderr())).toBe(false);
  });
});

describe('charnn serve: keys, signals, ports', () => {
  it('with --api-key, requests need "Authorization: Bearer <key>" (401 otherwise); /health does not', async () => {
    const keyed = await startServer(['--quiet', '--api-key', 's3cret'], dir);
    try {
      const body = { model: MODEL, prompt: 'a', max_tokens: 3 };
      expect((await post(keyed.url, body)).status).toBe(401);
      const wrong = await post(keyed.url, body, { authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
      expect(wrong.json.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
      expect((await post(keyed.url, body, { authorization: 'Bearer s3cret' })).status).toBe(200);
      expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
      const completion = await new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 's3cret', maxRetries: 0 }).completions.create(body);
      expect(completion.choices[0].text).toHaveLength(3);
      expect(keyed.stderr()).not.toMatch(/POST/); // --quiet
    } finally {
      keyed.child.kill('SIGTERM');
      await keyed.exited;
    }
  });

  it('SIGTERM: streams in flight end cleanly ([DONE], finish_reason length), then it exits 128 + 15', async () => {
    const s = await startServer(['--max-tokens', '100000000'], dir);
    const streams = await Promise.all([0, 1, 2].map(async (i) => {
      const res = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'a', max_tokens: 100_000_000, n: 1 + i, stream: true }) });
      const reader = res.body!.getReader();
      const first = await reader.read();
      return { reader, text: new TextDecoder().decode(first.value) };
    }));
    s.child.kill('SIGTERM');
    for (const stream of streams) {
      for (let r = await stream.reader.read(); !r.done; r = await stream.reader.read()) stream.text += new TextDecoder().decode(r.value);
      expect(stream.text.endsWith('data: [DONE]\n\n')).toBe(true);
      const events = stream.text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
      const choices = events.flatMap((e) => e.choices);
      const indices = new Set(choices.map((c: any) => c.index));
      expect(choices.filter((c: any) => c.finish_reason === 'length').length).toBe(indices.size); // every choice ended once
      expect(choices.length).toBeLessThan(100_000_000); // cut short: it was in flight
    }
    expect(await s.exited).toBe(143);
    expect(s.stderr()).toMatch(/SIGTERM: stopping/);
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();
  });

  it('a port in use: one line, exit 2', async () => {
    const r = await charnn(['serve', '--port', String(server.port)], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`charnn: port ${server.port} on 127.0.0.1 is in use; stop what is using it or choose another with --port`]);
  });

  it('no checkpoints to serve: says how to get one (exit 2)', async () => {
    const empty = tempDir('serve-empty');
    try {
      const r = await charnn(['serve'], empty);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no best\.json under \.\/checkpoints; train a model first/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('an address other than the loopback is warned about: the server is reachable from the network', async () => {
    const open = await startServer(['--host', '0.0.0.0', '--api-key', 'k'], dir);
    try {
      expect(open.stderr()).toMatch(/listening on http:\/\/0\.0\.0\.0:\d+/);
      await eventually(async () => /warning: --host 0\.0\.0\.0 makes the server reachable from the network/.test(open.stderr()));
      expect((await fetch(`${open.url}/health`)).status).toBe(200);
    } finally {
      open.child.kill('SIGTERM');
      await open.exited;
    }
  });
});
