/**
 * Errors the user can fix. The CLI prints `message` on one line and exits with `exitCode`;
 * anything else that escapes is a bug and shows its stack only with --debug.
 */
export class CharnnError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input from the user: a wrong option, a file that cannot be used. Exit code 2. */
export class UsageError extends CharnnError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Something went wrong while running: a corrupt checkpoint, a diverging loss. Exit code 1. */
export class RuntimeFailure extends CharnnError {
  constructor(message: string) {
    super(message, 1);
  }
}
