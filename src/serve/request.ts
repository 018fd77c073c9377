import * as z from 'zod';
import { ApiError } from './errors.js';

/** Characters generated when a request does not say (OpenAI's default is 16 tokens; a character is much less). */
export const DEFAULT_MAX_TOKENS = 100;
/** The most likely characters `logprobs` may ask for at each position. */
export const MAX_LOGPROBS = 20;

const stops = z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]);

/**
 * POST /v1/completions, as OpenAI's completions endpoint takes it (tokens are characters here), plus
 * charnn's `top_k`. Fields OpenAI has and charnn does not use (user, presence_penalty, …) are ignored, as
 * clients send some of them by default. `null` means "not given", as it does for OpenAI.
 */
export const completionRequest = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).min(1)], { error: 'expected a string or an array of strings (charnn reads characters, not token ids)' }).nullish().transform((p) => (typeof p === 'string' || p == null ? [p ?? ''] : p)),
  max_tokens: z.number().int().min(0).nullish().transform((n) => n ?? DEFAULT_MAX_TOKENS),
  // 0 is greedy, as with OpenAI; charnn's sampler takes any temperature above 0.
  temperature: z.number().min(0).max(100).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(1).nullish(),
  n: z.number().int().min(1).nullish().transform((n) => n ?? 1),
  stop: stops.nullish().transform((s) => (s == null ? [] : typeof s === 'string' ? [s] : s)),
  seed: z.number().int().min(0).max(2 ** 32 - 1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  logprobs: z.number().int().min(0).max(MAX_LOGPROBS).nullish().transform((n) => n ?? null),
  echo: z.boolean().nullish(),
});

export type CompletionRequest = z.output<typeof completionRequest>;

/** The body read as JSON and checked: a 400 in OpenAI's shape that names the field, or the request. */
export function parseCompletionRequest(body: string): CompletionRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new ApiError(400, `the body is not valid JSON (${(err as Error).message}); send a JSON object such as {"model": "…", "prompt": "…"}`, null, 'invalid_json');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ApiError(400, 'the body must be a JSON object such as {"model": "…", "prompt": "…"}', null, 'invalid_json');
  const parsed = completionRequest.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue.path.length > 0 ? issue.path.join('.') : null;
  const missing = issue.code === 'invalid_type' && (json as Record<string, unknown>)[String(issue.path[0])] === undefined;
  throw new ApiError(400, missing ? `${param} is required` : `${param ?? 'the body'}: ${issue.message}`, param, missing ? 'missing_required_parameter' : 'invalid_value');
}
