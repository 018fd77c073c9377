// Seeded randomness for the corpus scripts (mulberry32: small, and good enough to pick words).
// Nothing in the scripts is random otherwise: no Math.random, no clock, no environment.
export function seededRandom(seed) {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    random,
    int: (lo, hi) => lo + Math.floor(random() * (hi - lo + 1)), // inclusive
    pick: (list) => list[Math.floor(random() * list.length)],
    chance: (p) => random() < p,
  };
}
