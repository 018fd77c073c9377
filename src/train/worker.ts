import { workerData } from 'node:worker_threads';
import { ioColumns, runCommand, threadOf, type Thread } from './commands.js';
import { awaitCommand, answer, Command, controlViews, Slot, writeFailure, type WorkerSetup } from './protocol.js';

/**
 * A data-parallel worker: it runs each command the main thread announces (commands.ts) on the shards it
 * claims, answering through the control array.
 */
const setup = workerData as WorkerSetup;
const { control, failureMessage } = controlViews(setup.control);
// However this thread ends (Exit, an error while setting up, a crash), the main thread, which may be
// waiting for an answer it will never get, learns of it at once.
process.on('exit', () => {
  Atomics.add(control, Slot.Gone, 1);
  Atomics.notify(control, Slot.Done);
});

/** Answers the main thread's commands until it says Exit; a command that fails is answered, and its error recorded for the main thread. */
function serve(thread: Thread): void {
  const columns = ioColumns(thread.io);
  // The sequence starts at 0; commands the main thread sent before this thread started are not missed.
  let seen = 0;
  for (;;) {
    seen = awaitCommand(control, seen);
    const command = Atomics.load(control, Slot.Command);
    if (command === Command.Exit) return;
    try {
      runCommand(thread, command, columns);
    } catch (err) {
      writeFailure(failureMessage, err);
      Atomics.store(control, Slot.Failed, 1);
    }
    answer(control);
  }
}

try {
  serve(threadOf(setup));
} catch (err) {
  writeFailure(failureMessage, err); // the thread ends: Gone tells the main thread, which reads this as the reason
  throw err;
}
