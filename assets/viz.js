// The script of the page `charnn viz` writes (inlined into it). It reads the JSON in #viz-data, decodes
// the gzipped arrays with the browser's DecompressionStream, renders the text lazily (a block at a time,
// as it scrolls into view) and colours it by surprise or by one cell's activation.
'use strict';
(async () => {
  const data = JSON.parse(document.getElementById('viz-data').textContent);
  const chars = Array.from(data.text);
  const N = chars.length, H = data.hiddenSize, K = data.topK;
  const BLOCK = 2000; // characters rendered at a time

  async function unpack(base64, Type) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Type(await new Response(stream).arrayBuffer());
  }
  const [surprisal, topTokens, topProbs, states] = await Promise.all([
    unpack(data.surprisal, Uint16Array), unpack(data.topTokens, Uint16Array),
    unpack(data.topProbs, Uint16Array), unpack(data.states, Uint8Array),
  ]);

  /** One cell's activations, 0 ↔ −1 … stateLevels ↔ +1: a view of its row of the states. */
  function cellLevels(layer, cell) {
    const row = ((layer - 1) * H + cell) * N;
    return states.subarray(row, row + N);
  }
  const activation = (q) => (q / data.stateLevels) * 2 - 1;
  const cellPaletteIndex = (q) => Math.round((q / data.stateLevels) * 255);
  const bits = (i) => surprisal[i] / 1000;
  const surpriseIndex = (i) => Math.min(255, Math.round((bits(i) / data.surpriseMaxBits) * 255));

  // The copied spans of a sample (null when not looked for): copyOf[i] is the first span character i is in, or -1.
  const copyOf = new Int32Array(N).fill(-1);
  (data.copies ?? []).forEach(({ at, length }, k) => {
    for (let i = at; i < at + length; i++) if (copyOf[i] < 0) copyOf[i] = k;
  });

  const shown = (c) => (c === '\n' ? '↵' : c === '\t' ? '⇥' : c === '\r' ? '␍' : c);
  const quoted = (c) => (c === ' ' ? 'space' : c === '\n' ? '↵ newline' : shown(c));

  /** A lazily rendered view of the text, made a block at a time: span i coloured by entry colourOf(i) of the palette. */
  function makeView(container, palette, colourOf) {
    const spans = [];
    const sentinel = document.createElement('div');
    sentinel.className = 'sentinel';
    container.append(sentinel);
    const view = {
      colourOf,
      renderMore() {
        const fragment = document.createDocumentFragment();
        const end = Math.min(N, spans.length + BLOCK);
        for (let i = spans.length; i < end; i++) {
          const span = document.createElement('span');
          span.textContent = shown(chars[i]);
          span.dataset.i = String(i);
          if (chars[i] === '\n') span.className = 'nl';
          if (copyOf[i] >= 0) span.classList.add('copy');
          paint(span, i);
          spans.push(span);
          fragment.append(span);
          if (chars[i] === '\n') fragment.append('\n');
        }
        sentinel.before(fragment);
        if (spans.length === N) sentinel.remove();
      },
      recolour() {
        for (let i = 0; i < spans.length; i++) paint(spans[i], i);
      },
    };
    function paint(span, i) {
      const q = view.colourOf(i);
      span.style.backgroundColor = palette.background[q];
      span.style.color = palette.ink[q];
    }
    view.renderMore();
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && spans.length < N) view.renderMore();
    }, { rootMargin: '600px' }).observe(sentinel);
    return view;
  }

  makeView(document.getElementById('surprise-text'), data.palettes.surprise, surpriseIndex);

  // --- cells
  let current = { layer: data.cell.layer, cell: data.cell.cell, levels: cellLevels(data.cell.layer, data.cell.cell) };
  const cellView = makeView(document.getElementById('cell-text'), data.palettes.cell, (i) => cellPaletteIndex(current.levels[i]));
  const layerSelect = document.getElementById('layer'), cellInput = document.getElementById('cell');
  const cellName = document.getElementById('cell-name');
  function showCell(layer, cell) {
    if (!(layer >= 1 && layer <= data.layers && cell >= 0 && cell < H)) return;
    current = { layer, cell, levels: cellLevels(layer, cell) };
    layerSelect.value = String(layer);
    cellInput.value = String(cell);
    cellName.textContent = `layer ${layer} cell ${cell}: ${data.stateLabel}`;
    for (const b of document.querySelectorAll('button.cell-ref')) {
      b.classList.toggle('active', Number(b.dataset.layer) === layer && Number(b.dataset.cell) === cell);
    }
    cellView.recolour();
  }
  layerSelect.addEventListener('change', () => showCell(Number(layerSelect.value), Number(cellInput.value)));
  cellInput.addEventListener('change', () => showCell(Number(layerSelect.value), Math.round(Number(cellInput.value))));

  function cellButton(ref, text) {
    const b = document.createElement('button');
    b.className = 'cell-ref';
    b.dataset.layer = String(ref.layer);
    b.dataset.cell = String(ref.cell);
    b.textContent = text;
    b.title = `colour the text by layer ${ref.layer} cell ${ref.cell}`;
    b.addEventListener('click', () => showCell(ref.layer, ref.cell));
    return b;
  }
  const tbody = document.querySelector('#detectors tbody');
  for (const d of data.detections) {
    const tr = document.createElement('tr');
    tr.dataset.feature = d.feature;
    const th = document.createElement('th');
    th.textContent = d.label;
    const td = document.createElement('td');
    if (d.cells.length === 0) td.textContent = 'not in this text';
    for (const c of d.cells) td.append(cellButton(c, `${c.layer}:${c.cell} r=${c.r >= 0 ? '+' : '−'}${Math.abs(c.r).toFixed(2)}`));
    tr.append(th, td);
    tbody.append(tr);
  }
  const saturated = document.getElementById('saturated');
  if (data.saturated.length === 0) saturated.textContent = 'none';
  for (const s of data.saturated.slice(0, 40)) saturated.append(cellButton(s, `${s.layer}:${s.cell} ${Math.round(s.fraction * 100)}%`));
  if (data.saturated.length > 40) saturated.append(` and ${data.saturated.length - 40} more`);
  showCell(current.layer, current.cell);

  // --- the tooltip: this character's surprisal (and the shown cell) and the top guesses for the next one
  const tip = document.getElementById('tip');
  function showTip(span) {
    const i = Number(span.dataset.i);
    const rows = [];
    for (let r = 0; r < K; r++) {
      const p = topProbs[i * K + r] / 65535;
      rows.push(`<tr class="guess"><td class="char">${escape(quoted(data.vocab[topTokens[i * K + r]]))}</td><td>${(p * 100).toFixed(1)}%</td>` +
        `<td><span class="bar" style="width:${Math.round(p * 80)}px"></span></td></tr>`);
    }
    const inCells = span.closest('#cell-text') !== null;
    const copy = copyOf[i] >= 0 ? data.copies[copyOf[i]] : null;
    const copyLine = copy ? `<div class="tip-copy">copied: ${copy.length} characters verbatim from ${escape(copy.from)}</div>` : '';
    const cellLine = inCells ? `<div>layer ${current.layer} cell ${current.cell}: ${activation(current.levels[i]).toFixed(2)}</div>` : '';
    tip.innerHTML = `<div class="tip-head"><b>${escape(quoted(chars[i]))}</b> ${bits(i).toFixed(2)} bits</div>${copyLine}${cellLine}` +
      `<div>next:</div><table>${rows.join('')}</table>`;
    tip.hidden = false;
    const box = span.getBoundingClientRect();
    const x = Math.min(box.left, window.innerWidth - tip.offsetWidth - 8);
    const below = box.bottom + 6 + tip.offsetHeight < window.innerHeight;
    tip.style.left = `${Math.max(4, x)}px`;
    tip.style.top = `${below ? box.bottom + 6 : box.top - tip.offsetHeight - 6}px`;
  }
  for (const id of ['surprise-text', 'cell-text']) {
    const el = document.getElementById(id);
    el.addEventListener('mouseover', (e) => { if (e.target.dataset.i) showTip(e.target); });
    el.addEventListener('click', (e) => { if (e.target.dataset.i) showTip(e.target); });
    el.addEventListener('mouseleave', () => { tip.hidden = true; });
  }
  function escape(text) {
    return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  }
  document.body.dataset.ready = 'true';
})().catch((err) => {
  document.body.dataset.ready = 'error';
  document.body.prepend(Object.assign(document.createElement('pre'), { className: 'error', textContent: `charnn viz: ${err}` }));
});
