import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Checkpoint } from '../checkpoint/format.js';
import type { BackendName } from '../kernels/index.js';
import { Completion, rowsOf, type Caps } from './completions.js';
import { ApiError } from './errors.js';
import { parseCompletionRequest } from './request.js';
import { Scheduler, type Connections } from './scheduler.js';

/** The largest request body read (OpenAI's completions take far less; a prompt of a million characters is not a request). */
export const MAX_BODY_BYTES = 1 << 20;

export interface ServedModel {
  /** The name requests use in `model`. */
  name: string;
  checkpoint: Checkpoint;
}

export interface ServerOptions {
  models: readonly ServedModel[];
  /** When set, every request but /health needs `Authorization: Bearer <apiKey>`. */
  apiKey: string | null;
  caps: Caps;
  /** Rows stepped together per model; more wait for a place. */
  maxRows: number;
  backend: BackendName;
  /** Receives one line per request (method, path, status, characters, milliseconds, and a stream's first chunk's); null for none. */
  log: ((line: string) => void) | null;
}

const ROUTES: Record<string, string> = { '/health': 'GET', '/v1/models': 'GET', '/v1/completions': 'POST' };

/**
 * An OpenAI-compatible completions server over Node's own http module: three routes, no framework. Each
 * model has one Scheduler that steps every row in flight together; requests are self-contained, so any
 * number of servers can stand behind a load balancer.
 */
export class CompletionServer {
  private readonly server: http.Server;
  private readonly schedulers = new Map<string, Scheduler>();
  private readonly inFlight = new Set<Completion>();
  private readonly created = Math.floor(Date.now() / 1000);
  private closing = false;

  constructor(private readonly options: ServerOptions) {
    const connections: Connections = { accepted: 0 };
    for (const { name, checkpoint } of options.models) this.schedulers.set(name, new Scheduler(checkpoint, options.maxRows, options.backend, connections));
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', () => connections.accepted++);
  }

  /** Starts listening; resolves with the address (port 0 picks a free port), rejects with the listen error (EADDRINUSE). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting, ends every completion in flight with what it has (a clean end of each stream), and resolves once every connection is closed. */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const completion of [...this.inFlight]) completion.stop();
    this.server.closeIdleConnections();
    return closed;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const start = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    let completion: Completion | null = null;
    res.on('close', () => {
      if (completion && !completion.done) {
        completion.cancel(); // the client went away: its rows leave the batch at once
        this.inFlight.delete(completion);
      }
      const first = completion?.firstWrite != null ? ` (first chunk ${Math.round(completion.firstWrite - start)} ms)` : '';
      const gone = !res.writableFinished ? ' (client gone)' : '';
      this.options.log?.(`${req.method} ${path} ${res.statusCode} ${completion?.generated ?? 0} chars ${Math.round(performance.now() - start)} ms${gone}${first}`);
    });
    this.route(req, res, path)
      .then((c) => (completion = c))
      .catch((err: unknown) => this.fail(res, err));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<Completion | null> {
    if (this.closing) {
      res.setHeader('connection', 'close');
      throw new ApiError(503, 'the server is shutting down; send the request again to another server or later', null, 'shutting_down');
    }
    const method = ROUTES[path];
    if (method === undefined) throw new ApiError(404, `no route ${req.method} ${path}; this server answers POST /v1/completions, GET /v1/models and GET /health`, null, 'unknown_url');
    if (req.method !== method) {
      res.setHeader('allow', method);
      throw new ApiError(405, `${path} takes ${method}, not ${req.method}`, null, 'method_not_allowed');
    }
    if (path === '/health') return this.json(res, { status: 'ok', models: Object.fromEntries([...this.schedulers].map(([name, s]) => [name, s.load])) });
    const key = this.options.apiKey;
    if (key !== null && req.headers.authorization !== `Bearer ${key}`) {
      throw new ApiError(401, 'a valid API key is needed: send the header "Authorization: Bearer <key>" with the key the server was started with', null, 'invalid_api_key');
    }
    if (path === '/v1/models') {
      return this.json(res, { object: 'list', data: [...this.schedulers.keys()].map((id) => ({ id, object: 'model', created: this.created, owned_by: 'charnn' })) });
    }
    const request = parseCompletionRequest(await readBody(req));
    const scheduler = this.schedulers.get(request.model);
    if (!scheduler) {
      throw new ApiError(404, `the model "${request.model}" is not served here; GET /v1/models lists the ones that are: ${[...this.schedulers.keys()].join(', ')}`, 'model', 'model_not_found');
    }
    const rows = rowsOf(request, scheduler.vocab, this.options.caps);
    const completion = new Completion(request, rows.length, res, (c) => this.inFlight.delete(c), (err) => this.fail(res, err));
    this.inFlight.add(completion);
    completion.cancel = scheduler.submit(rows, completion);
    return completion;
  }

  private json(res: http.ServerResponse, value: unknown, status = 200): null {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    return null;
  }

  /** A refused request gets OpenAI's error shape; anything else is a 500 that says what went wrong, never a stack. */
  private fail(res: http.ServerResponse, err: unknown): void {
    const error = err instanceof ApiError ? err : new ApiError(500, `internal error: ${err instanceof Error ? err.message : String(err)}`, null, 'internal_error');
    if (res.headersSent) res.end(`data: ${JSON.stringify(error.body)}\n\n`); // a stream that has begun ends with the error as its last event
    else this.json(res, error.body, error.status);
  }
}

/** The request's body as text; over MAX_BODY_BYTES, a 413 once the client has finished sending (so it reads the answer). */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (bytes > MAX_BODY_BYTES) reject(new ApiError(413, `the body is ${bytes} bytes, above the limit of ${MAX_BODY_BYTES} (1 MB)`, null, 'request_too_large'));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}
