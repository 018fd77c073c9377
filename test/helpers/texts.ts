/**
 * A deterministic text of about `chars` characters with what the viz detectors look for: quotations,
 * nested brackets, capitals, digits, sentences and lines of varied length.
 */
export function quotedText(chars: number, seed = 1): string {
  const words = ['the', 'lamp', 'sea', 'light', 'keeper', 'night', 'storm', 'boat', 'bell', 'and', 'rings', 'waits'];
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const word = () => words[Math.floor(next() * words.length)];
  const phrase = (n: number) => Array.from({ length: n }, word).join(' ');
  let text = '';
  while (text.length < chars) {
    const r = next();
    let sentence = phrase(2 + Math.floor(next() * 4));
    if (r < 0.35) sentence += ` "${phrase(2 + Math.floor(next() * 4))}"`;
    else if (r < 0.6) sentence += ` (${phrase(1 + Math.floor(next() * 3))}${next() < 0.4 ? ` (${word()})` : ''})`;
    else if (r < 0.7) sentence += ` ${Math.floor(next() * 1000)}`;
    text += sentence.charAt(0).toUpperCase() + sentence.slice(1) + '.' + (next() < 0.4 ? '\n' : ' ');
  }
  return text.slice(0, chars);
}
