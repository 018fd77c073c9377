/**
 * The names a checkpoint's config chooses among, apart from the option table (options.ts) and its schemas:
 * the training threads need the optimizers' names, and loading zod in every thread cost each one about 0.1 s.
 */

/** The optimizers a run can use; a checkpoint names one. */
export const OPTIMIZERS = ['adam', 'rmsprop', 'sgd'] as const;
/** How the learning rate moves (see src/train/schedule.ts); a checkpoint names one. */
export const LR_SCHEDULES = ['budget', 'exp', 'constant'] as const;
