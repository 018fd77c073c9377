import { describe, expect, it } from 'vitest';
import { Scheduler, type Connections, type RowListener } from '../src/serve/scheduler.js';
import { Rng } from '../src/util/rng.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';

/**
 * Node accepts one connection per turn of its event loop, so while connections keep coming the
 * scheduler's turns step nothing (src/serve/scheduler.ts, Connections): checked here turn by turn, with
 * the connections counted by hand as the server counts them, and no clock (the time cap set out of reach
 * or to nothing).
 */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function oneRow(scheduler: Scheduler, length: number) {
  let chars = 0;
  const done = new Promise<void>((resolve, reject) => {
    const listener: RowListener = {
      deliver: (_, pieces, finish) => {
        chars += pieces.length;
        if (finish !== null) resolve();
      },
      flush: () => {},
      send: () => {},
      fail: reject,
    };
    scheduler.submit([{ prime: '', length, rng: new Rng(3), temperature: 1 }], listener);
  });
  return { done, chars: () => chars };
}

describe('the serving scheduler while connections arrive', () => {
  const checkpoint = handMadeCheckpoint(['a', 'b', 'c', '\n'], { randomWeights: 0.5 });

  it('steps nothing while a connection comes in on every turn, and finishes the rows once they stop', async () => {
    const connections: Connections = { accepted: 0 };
    const scheduler = new Scheduler(checkpoint, 4, 'js', connections, Infinity);
    connections.accepted++; // the request's own connection, counted before its rows were submitted
    const row = oneRow(scheduler, 50);
    for (let turn = 0; turn < 40; turn++) {
      connections.accepted++;
      await nextTurn();
    }
    expect(row.chars()).toBe(0);
    await row.done;
    expect(row.chars()).toBe(50);
  });

  it('steps on every turn when accepting may take no time: connections never stop the rows', async () => {
    const connections: Connections = { accepted: 0 };
    const scheduler = new Scheduler(checkpoint, 4, 'js', connections, 0);
    const row = oneRow(scheduler, 50);
    let turns = 0;
    let finished = false;
    void row.done.then(() => (finished = true));
    while (!finished) {
      connections.accepted++;
      await nextTurn();
      expect(++turns, 'turns before the row finished').toBeLessThan(1000);
    }
    expect(row.chars()).toBe(50);
  });
});
