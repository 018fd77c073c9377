/**
 * The script of the page `charnn export` writes (assets/export.html): reads the packed model from the
 * page, shows its facts, generates with the options of `charnn sample`, and runs the "write with it" mode.
 * document.body.dataset.ready is set once the model is loaded ('true', or the error).
 */
import { WebModel, type NextOptions, type PackedModel, type SampleOptions } from './index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
/** A number field, or undefined when empty. */
const numberOf = (id: string) => (input(id).value.trim() === '' ? undefined : Number(input(id).value));

/** Stop strings, one a line, with \n, \t and \\ read as a newline, a tab and a backslash. */
function stopStrings(text: string): string[] {
  const escapes: Record<string, string> = { n: '\n', t: '\t', '\\': '\\' };
  return text.split('\n').filter((line) => line !== '').map((line) => line.replace(/\\([nt\\])/g, (_, c: string) => escapes[c]));
}

function showFacts(model: WebModel): void {
  const f = model.facts;
  document.title = `${f.name} — charnn`;
  $('name').textContent = f.name;
  const facts: [string, string][] = [
    ['cell', `${f.layers}×${f.hiddenSize} ${f.cell.toUpperCase()}`],
    ['parameters', f.params.toLocaleString('en')],
    ['corpus', `${f.corpus} (${f.corpusChars.toLocaleString('en')} chars)`],
    ['validation loss', f.valLoss === null ? 'not measured' : `${f.valLoss.toFixed(3)} nats/char`],
    ['saved', f.savedAt.slice(0, 10)],
    ['weights', `${f.precision}, ${model.backend} kernels`],
  ];
  $('facts').replaceChildren(...facts.map(([what, value]) => {
    const span = document.createElement('span');
    span.append(`${what} `);
    span.appendChild(document.createElement('b')).textContent = value;
    return span;
  }));
}

function generatePanel(model: WebModel): void {
  const output = $('output'), status = $('status'), start = $<HTMLButtonElement>('generate'), stop = $<HTMLButtonElement>('stop-button');
  let stopping = false;
  stop.onclick = () => (stopping = true);
  start.onclick = async () => {
    const prime = $<HTMLTextAreaElement>('prime').value;
    const options: SampleOptions = {
      prime, primeUnknown: 'skip', temperature: numberOf('temperature'), topK: numberOf('top-k'), topP: numberOf('top-p'),
      length: numberOf('length'), seed: numberOf('seed'), stop: stopStrings($<HTMLTextAreaElement>('stop').value),
    };
    const dropped = model.vocab.missing(prime);
    output.replaceChildren();
    const primeShown = output.appendChild(document.createElement('span'));
    primeShown.className = 'prime';
    const generated = output.appendChild(document.createTextNode(''));
    let primeLeft = [...prime].filter((c) => model.vocab.indexOf(c) >= 0).join('').length; // UTF-16 units
    stopping = false;
    start.disabled = true;
    stop.disabled = false;
    document.body.dataset.state = 'generating';
    status.textContent = dropped.length > 0 ? `dropped ${dropped.length} prime character(s) the model does not know` : 'generating…';
    const began = performance.now();
    let chars = 0;
    try {
      for await (const piece of model.generate(options)) {
        // The prime comes first, in grey.
        const ofPrime = piece.slice(0, primeLeft);
        primeLeft -= ofPrime.length;
        primeShown.textContent += ofPrime;
        generated.appendData(piece.slice(ofPrime.length));
        chars += [...piece.slice(ofPrime.length)].length;
        if (stopping) break;
      }
      const seconds = (performance.now() - began) / 1000;
      status.textContent = `${stopping ? 'stopped: ' : ''}${chars} characters in ${seconds.toFixed(1)} s (${Math.round(chars / seconds)}/s)`;
    } catch (err) {
      status.textContent = (err as Error).message;
    } finally {
      start.disabled = false;
      stop.disabled = true;
      document.body.dataset.state = 'idle';
    }
  };
  start.disabled = false;
  status.textContent = 'ready';
}

/**
 * The writing mode: after each edit, the model reads the text up to the cursor (only what changed when
 * the text grew at the end), shows its five likeliest next characters, and proposes a continuation.
 */
function writePanel(model: WebModel): void {
  const editor = $<HTMLTextAreaElement>('editor'), proposal = $('proposal'), likely = $('likely');
  let fed = '';
  let proposed = '';
  const update = () => {
    const before = [...editor.value.slice(0, editor.selectionStart)].filter((c) => model.vocab.indexOf(c) >= 0).join('');
    if (!before.startsWith(fed)) {
      model.reset();
      fed = '';
    }
    model.feed(before.slice(fed.length));
    fed = before;
    likely.replaceChildren(...model.likely(5).map(({ char, probability }) => {
      const span = document.createElement('span');
      span.append(char === '\n' ? '↵' : char === ' ' ? '␣' : char);
      span.appendChild(document.createElement('small')).textContent = `${Math.round(probability * 100)}%`;
      return span;
    }));
    const options: NextOptions = { temperature: numberOf('write-temperature'), length: numberOf('write-length'), stop: ['\n'] };
    proposed = model.propose(options);
    proposal.textContent = proposed;
    proposal.dataset.at = String(editor.selectionStart); // where the proposal goes (for tests)
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(update, 80);
  };
  editor.addEventListener('input', later);
  editor.addEventListener('click', later);
  editor.addEventListener('keyup', (e) => e.key.startsWith('Arrow') && later());
  input('write-temperature').addEventListener('change', later);
  input('write-length').addEventListener('change', later);
  const accept = () => {
    editor.setRangeText(proposed, editor.selectionStart, editor.selectionEnd, 'end');
    editor.focus();
    update();
  };
  editor.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab' || proposed === '' || e.shiftKey) return;
    e.preventDefault();
    accept();
  });
  $('accept').onclick = accept; // phones have no Tab key
  update();
}

function tabs(): void {
  const show = (which: 'generate' | 'write') => {
    for (const name of ['generate', 'write']) {
      $(`${name}-panel`).hidden = name !== which;
      $(`tab-${name}`).setAttribute('aria-selected', String(name === which));
    }
    if (which === 'write') $('editor').focus();
  };
  $('tab-generate').onclick = () => show('generate');
  $('tab-write').onclick = () => show('write');
}

async function start(): Promise<void> {
  try {
    const packed = JSON.parse($('charnn-model').textContent!) as PackedModel;
    const model = await WebModel.open(packed);
    showFacts(model);
    tabs();
    generatePanel(model);
    writePanel(model);
    document.body.dataset.ready = 'true';
  } catch (err) {
    $('status').textContent = `cannot load the model: ${(err as Error).message}`;
    document.body.dataset.ready = String((err as Error).message);
  }
}

void start();
