import path from 'node:path';
import { constants as osConstants } from 'node:os';
import { Command, Option } from 'commander';
import { findAll, BEST, loadCheckpoint } from '../checkpoint/store.js';
import type { BackendName } from '../kernels/index.js';
import { CompletionServer, type ServedModel } from '../serve/server.js';
import { UsageError } from '../util/errors.js';
import { backendOption, nonNegativeInt, positiveInt } from './options.js';
import { stderrStyle as style } from './ui.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve models over HTTP with the OpenAI completions API (streamed; every request in flight batched into one step)')
    .argument('[checkpoint...]', 'checkpoint files, each served under its folder\'s name (or name=file); default: every best.json under ./checkpoints')
    .addOption(new Option('--port <n>', 'TCP port (0: any free port, printed on the first line)').argParser(nonNegativeInt).default(8000))
    .addOption(new Option('--host <address>', 'address to listen on; anything but 127.0.0.1/localhost is reachable from the network').default('127.0.0.1'))
    .addOption(new Option('--api-key <key>', 'require "Authorization: Bearer <key>" on every request but /health').env('CHARNN_API_KEY'))
    .addOption(new Option('--max-tokens <n>', 'the largest max_tokens (characters) a request may ask for').argParser(positiveInt).default(10000))
    .addOption(new Option('--max-n <n>', 'the most choices (prompts × n) one request may ask for').argParser(positiveInt).default(64))
    .addOption(new Option('--max-batch <rows>', 'rows stepped together per model; more wait for a place').argParser(positiveInt).default(256))
    .addOption(new Option('--quiet', 'no line per request on stderr'))
    .addOption(backendOption())
    .addHelpText('after', `
Examples:
  $ charnn serve                                  # every best.json under ./checkpoints, on 127.0.0.1:8000
  $ charnn serve checkpoints/lighthouse/best.json --port 8080
  $ charnn serve poems=runs/a/best.json prose=runs/b/best.json --api-key s3cret
  $ curl -s localhost:8000/v1/completions -H 'content-type: application/json' \\
      -d '{"model": "lighthouse", "prompt": "The ", "max_tokens": 200, "seed": 7}'`)
    .action(async (files: string[], opts: {
      port: number; host: string; apiKey?: string; maxTokens: number; maxN: number; maxBatch: number; quiet?: boolean; backend: BackendName;
    }) => {
      const models = await servedModels(files);
      const server = new CompletionServer({
        models, apiKey: opts.apiKey || null, caps: { maxTokens: opts.maxTokens, maxChoices: opts.maxN },
        maxRows: opts.maxBatch, backend: opts.backend, log: opts.quiet ? null : (line) => process.stderr.write(style.dim(line) + '\n'),
      });
      const address = await server.listen(opts.port, opts.host).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') throw new UsageError(`port ${opts.port} on ${opts.host} is in use; stop what is using it or choose another with --port`);
        if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new UsageError(`cannot listen on ${opts.host}: not an address of this machine; use --host 127.0.0.1 or one of its own addresses`);
        throw err;
      });
      const where = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      process.stderr.write(`charnn serve: listening on ${where}, models: ${models.map((m) => m.name).join(', ')}\n`);
      if (!isLoopback(opts.host)) {
        process.stderr.write(style.yellow(`warning: --host ${opts.host} makes the server reachable from the network${opts.apiKey ? '' : ', and no --api-key is set'}`) + '\n');
      }
      // SIGTERM (docker stop, systemd) and Ctrl-C: stop accepting, end the streams in flight cleanly, exit 128 + the signal's number.
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        for (const s of STOP_SIGNALS) process.once(s, resolve);
      });
      process.once(signal, () => process.exit(128 + osConstants.signals[signal])); // a second signal does not wait
      process.stderr.write(`charnn serve: ${signal}: stopping\n`);
      await server.close();
      process.exitCode = 128 + osConstants.signals[signal];
    });
}

/** The models to serve: the files given (named by their folder, or name=file), or every best.json under ./checkpoints. */
async function servedModels(files: string[]): Promise<ServedModel[]> {
  const named = files.length > 0
    ? files.map((arg) => {
      const m = /^([\w.-]+)=(.+)$/.exec(arg);
      return m ? { name: m[1], file: m[2] } : { name: path.basename(path.dirname(path.resolve(arg))), file: arg };
    })
    : (await findAll('checkpoints', BEST)).map(({ file }) => ({ name: path.basename(path.dirname(file)), file }));
  if (named.length === 0) throw new UsageError('no best.json under ./checkpoints; train a model first (charnn train <corpus.txt>) or name checkpoint files');
  const seen = new Map<string, string>();
  for (const { name, file } of named) {
    const other = seen.get(name);
    if (other !== undefined) throw new UsageError(`${other} and ${file} would both be served as "${name}"; name them apart with name=file`);
    seen.set(name, file);
  }
  return Promise.all(named.map(async ({ name, file }) => ({ name, checkpoint: await loadCheckpoint(file) })));
}

/** Whether only this machine can reach the address: localhost, 127.x.x.x, ::1. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
