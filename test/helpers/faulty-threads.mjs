// Preloaded with `node --import` into the real CLI (and so into its worker threads) to make the
// data-parallel threads misbehave the way threads do, through the control array they share.
// FAULT=late-notify: the main thread's notify that comes with a command reaches the worker again after
//   the worker has answered and gone back to sleep: a wake-up with no new command, which the scheduler
//   can cause by pausing the main thread between announcing a command and notifying.
// FAULT=worker-hang: at its wait for a command after FAULT_AFTER such waits, the worker sleeps for good (stuck).
// FAULT=worker-crash: there instead, the worker throws outside any command (crashed).
import { isMainThread } from 'node:worker_threads';
import { Command, CONTROL_SLOTS, Slot } from '../../dist/train/protocol.js';

const fault = process.env.FAULT;
let waitsLeft = Number(process.env.FAULT_AFTER ?? 0);
const { wait, notify } = Atomics;
const isControl = (array, index) => array instanceof Int32Array && array.length === CONTROL_SLOTS && index === Slot.Sequence;
const sleep = (ms) => wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

if (isMainThread && fault === 'late-notify') {
  Atomics.notify = function (array, index, count) {
    const woken = notify(array, index, count);
    if (isControl(array, index) && Atomics.load(array, Slot.Command) !== Command.Exit) {
      // The main thread set Done to 0 before it announced the command: wait for the worker's answer.
      while (Atomics.load(array, Slot.Done) === 0) wait(array, Slot.Done, 0, 10);
      sleep(5); // the worker is back asleep by now
      notify(array, index, count);
    }
    return woken;
  };
}

if (!isMainThread && (fault === 'worker-hang' || fault === 'worker-crash')) {
  Atomics.wait = function (array, index, value, timeout) {
    if (isControl(array, index) && waitsLeft-- <= 0) {
      if (fault === 'worker-crash') throw new Error('injected crash of a training thread');
      for (;;) sleep(60_000);
    }
    return wait(array, index, value, timeout);
  };
}
