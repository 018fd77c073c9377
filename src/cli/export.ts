import { Command, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../checkpoint/store.js';
import { fileProblem, writeFileAtomic } from '../util/atomic-file.js';
import { UsageError } from '../util/errors.js';
import { packModel, type PackedModel } from '../web/pack.js';
import { PRECISIONS, type Precision } from '../web/precision.js';
import { defaultCheckpoint } from './checkpoints.js';
import { choice } from './options.js';
import { bytes, stderrStyle as style } from './ui.js';

const FORMATS = ['page', 'module'] as const;
type Format = (typeof FORMATS)[number];

/** The page's template and the bundles (scripts/export-bundle.mjs), from dist/cli/ as from src/cli/. */
const TEMPLATE = new URL('../../assets/export.html', import.meta.url);
const BUNDLES = new URL('../../dist/bundle/', import.meta.url);

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a trained model as one web page that generates text offline in any browser, or as an ES module')
    .argument('[checkpoint]', 'the checkpoint (default: the one charnn sample would use)')
    .addOption(new Option('--out <file>', 'the file to write (default: <name>.html, or <name>.mjs for a module)'))
    .addOption(new Option('--format <format>', 'page: one self-contained HTML file; module: an ES module exporting generate, feed, next, reset').argParser(choice(FORMATS)).default('page'))
    .addOption(new Option('--precision <p>', 'how the weights are stored: f32 (exact), f16 or int8 (smaller)').argParser(choice(PRECISIONS)).default('f16'))
    .addHelpText('after', `
Examples:
  $ charnn export                                   # the newest model, as <name>.html
  $ charnn export checkpoints/lighthouse/best.json --out lighthouse.html
  $ charnn export --format module --out lighthouse.mjs --precision int8`)
    .action(async (checkpoint: string | undefined, opts: { out?: string; format: Format; precision: Precision }) => {
      const file = checkpoint ?? (await defaultCheckpoint('exporting'));
      const ckpt = await loadCheckpoint(file);
      const name = runName(file);
      const packed = await packModel(ckpt, opts.precision, { name, savedAt: fs.statSync(file).mtime.toISOString() });
      const out = opts.out ?? `${name}.${opts.format === 'page' ? 'html' : 'mjs'}`;
      const text = opts.format === 'page' ? page(packed) : module(packed);
      try {
        writeFileAtomic(out, text);
      } catch (err) {
        throw new UsageError(`cannot write ${out}: ${fileProblem(err as NodeJS.ErrnoException)}; choose another --out`);
      }
      process.stderr.write(style.dim(`wrote ${out} (${bytes(Buffer.byteLength(text))}): ${opts.format === 'page' ? 'open it in a browser' : 'import it from a page or a bundler'}`) + '\n');
    });
}

/** The run's name: the checkpoint's folder (checkpoints/lighthouse/best.json → lighthouse), else the file's name. */
function runName(file: string): string {
  const folder = path.basename(path.dirname(path.resolve(file)));
  return ['', '.', 'checkpoints'].includes(folder) ? path.basename(file, path.extname(file)) : folder;
}

function bundle(name: 'page' | 'module'): string {
  return fs.readFileSync(new URL(`${name}.js`, BUNDLES), 'utf8');
}

/** JSON that can sit inside a <script> element: no '<' can close it. */
const scriptSafeJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function page(packed: PackedModel): string {
  const fill: Record<string, string> = {
    TITLE: `${packed.facts.name} — charnn`.replace(/&/g, '&amp;').replace(/</g, '&lt;'),
    MODEL: scriptSafeJson(packed),
    SCRIPT: bundle('page').replace(/<\/(script)/gi, '<\\/$1'),
  };
  return fs.readFileSync(TEMPLATE, 'utf8').replace(/\{\{(TITLE|MODEL|SCRIPT)\}\}/g, (_, key: string) => fill[key]);
}

function module(packed: PackedModel): string {
  return `// ${packed.facts.name}: a ${packed.facts.layers}×${packed.facts.hiddenSize} ${packed.facts.cell} written by charnn export. Exports facts, vocab, backend, generate, feed, next, reset, likely.\n` +
    `const CHARNN_MODEL = ${JSON.stringify(packed)};\n${bundle('module')}`;
}
