import { LR_SCHEDULES, type ScheduleCycle, type TrainingConfig } from '../checkpoint/format.js';

/**
 * Learning-rate schedules.
 *
 * - `budget`: when the run has a budget (iterations, epochs or time), the rate warms up linearly over the
 *   first iterations, stays at --lr, and over the last DECAY_FRACTION of the budget falls in a straight
 *   line to LR_FLOOR × --lr, reached exactly at the last iteration of the budget (the horizon), so that the
 *   last weights are the best ones. A time budget becomes
 *   an iteration horizon from the speed measured after warm-up; the horizon is recorded in the checkpoint
 *   (`training.schedule`), so a resumed run continues the same curve.
 * - `exp`: char-rnn's — multiply by --lr-decay at the end of every epoch after --lr-decay-after.
 * - `constant`: --lr throughout.
 */
export { LR_SCHEDULES };
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

/** The budget schedule ends at this fraction of --lr (BENCHMARKS.md: what was measured). */
export const LR_FLOOR = 0.1;
/**
 * The rate stays at --lr after warm-up and decays over this last fraction of the budget, in a straight
 * line: measured against a cosine over the whole budget and a cosine over the same fraction (BENCHMARKS.md).
 */
export const DECAY_FRACTION = 0.3;
/** Default warm-up: this fraction of the budget, at most WARMUP_MAX iterations. */
export const WARMUP_FRACTION = 0.02;
export const WARMUP_MAX = 100;
/** A time budget's horizon is first set once the steps after warm-up have run this long (or this fraction of the budget, if less). */
const MEASURE_SECONDS = 3;
const MEASURE_FRACTION = 0.02;
/** Before an evaluation has been timed, it is reckoned at this many training steps' worth per character scored. */
const EVAL_COST_PER_CHAR = 0.5;

/** The learning rate of the step that takes the run from `iteration` to `iteration + 1`, in a budget cycle. */
export function budgetLr(cycle: ScheduleCycle, peak: number, iteration: number): number {
  const t = iteration - cycle.start;
  const warmup = cycle.warmup ?? 0;
  if (t < warmup) return cycle.from + ((peak - cycle.from) * (t + 1)) / warmup;
  if (cycle.horizon === null) return peak;
  const floor = peak * LR_FLOOR;
  const span = (cycle.horizon - cycle.start - warmup) * DECAY_FRACTION;
  const decayStart = cycle.horizon - cycle.start - span;
  const progress = span <= 0 ? 1 : Math.max(0, Math.min(1, (t + 1 - decayStart) / span));
  return peak - (peak - floor) * progress;
}

/** The default warm-up for an iteration horizon of `iterations` from the cycle's start. */
export function defaultWarmup(iterations: number): number {
  return Math.max(1, Math.min(WARMUP_MAX, Math.round(WARMUP_FRACTION * iterations)));
}

/** The iteration at which the iteration budgets (--max-iters, --max-epochs) end the run, if any. */
export function iterationBudget(config: TrainingConfig, itersPerEpoch: number): number | null {
  const limits: number[] = [];
  if (config.maxIters !== null) limits.push(config.maxIters);
  if (config.maxEpochs !== null) limits.push(Math.ceil(config.maxEpochs * itersPerEpoch));
  return limits.length > 0 ? Math.min(...limits) : null;
}

export interface TimeHorizon {
  /** Iteration now. */
  iteration: number;
  /** Seconds left in the budget. */
  secondsLeft: number;
  /** Measured seconds of one training step (evaluations not included). */
  secondsPerStep: number;
  /** Seconds of one evaluation with its checkpoint writes. */
  secondsPerEval: number;
  evalEvery: number;
}

/**
 * The iteration a time budget reaches: n more steps such that n steps, the evaluations every `evalEvery`
 * iterations among them and the final one fit in the seconds left. At least one more step.
 */
export function horizonFromTime(h: TimeHorizon): number {
  const perIteration = h.secondsPerStep + h.secondsPerEval / h.evalEvery;
  const n = Math.floor((h.secondsLeft - h.secondsPerEval) / perIteration);
  return h.iteration + Math.max(1, n);
}

/**
 * Drives the learning rate of a run: the trainer asks `lr()` before every step, tells it when an epoch
 * ends and how long steps and evaluations took, and asks `reachedHorizon()` whether the budget's schedule
 * is over.
 */
export class LearningRate {
  private measureFrom: { iteration: number; stepSeconds: number } | null = null;
  private stepSeconds = 0;
  private evalSeconds: number | null = null;
  /** Whether this invocation measures a time budget's horizon (and measures it again at every evaluation). */
  private readonly adaptive: boolean;

  /**
   * `cycle` is the run's budget cycle (state.schedule) for the `budget` schedule, else null; it is updated
   * in place, so checkpoints record it. A time budget's horizon is measured, and kept up to date, by the
   * invocation that started the cycle (`startedHere`); a resumed run keeps the horizon it finds, and only
   * measures one if the run stopped before it had one.
   */
  constructor(
    private readonly config: TrainingConfig,
    readonly cycle: ScheduleCycle | null,
    private readonly evalCharsEstimate: number,
    startedHere: boolean,
  ) {
    this.adaptive = cycle !== null && cycle.seconds !== null && (startedHere || cycle.horizon === null);
  }

  /** The learning rate for the step from `iteration`, given the current one (`exp` and `constant` keep it). */
  lr(iteration: number, current: number, cycleSeconds: number): number {
    const c = this.cycle;
    if (c === null) return current;
    if (c.warmup === null && c.seconds !== null) {
      // A time budget warms up over its first WARMUP_FRACTION of the time; the iterations that took are recorded.
      const fraction = cycleSeconds / (WARMUP_FRACTION * c.seconds);
      if (fraction < 1) return c.from + (this.config.lr - c.from) * fraction;
      c.warmup = Math.max(1, iteration - c.start);
    }
    return budgetLr(c, this.config.lr, iteration);
  }

  /** The learning rate after an epoch has ended (only `exp` changes it). */
  afterEpoch(epoch: number, current: number): number {
    return this.config.lrSchedule === 'exp' && epoch >= this.config.lrDecayAfter ? current * this.config.lrDecay : current;
  }

  /** Whether the budget cycle's last iteration has been done. */
  reachedHorizon(iteration: number): boolean {
    return this.cycle !== null && this.cycle.horizon !== null && iteration >= this.cycle.horizon;
  }

  /**
   * After a step: `seconds` it took, `cycleSeconds` of the cycle so far. Sets a time budget's horizon once
   * the speed after warm-up has been measured for long enough, and keeps it up to date.
   */
  afterStep(iteration: number, seconds: number, cycleSeconds: number): void {
    const c = this.cycle;
    if (c === null || !this.adaptive) return;
    this.stepSeconds += seconds;
    if (c.warmup === null || iteration < c.start + c.warmup) return;
    if (this.measureFrom === null) {
      this.measureFrom = { iteration, stepSeconds: this.stepSeconds };
      return;
    }
    const measured = this.stepSeconds - this.measureFrom.stepSeconds;
    // Once set, the horizon follows the measured speed after every step: a machine that slows down or speeds
    // up moves it, and near the end, with little time left to forecast, it is all but exact.
    if (c.horizon !== null || (measured >= Math.min(MEASURE_SECONDS, MEASURE_FRACTION * c.seconds!) && iteration - this.measureFrom.iteration >= 3)) {
      this.setHorizon(iteration, cycleSeconds);
    }
  }

  /** After an evaluation and its checkpoints, which took `seconds`: what the remaining ones are reckoned at. */
  afterEval(seconds: number): void {
    if (this.adaptive) this.evalSeconds = seconds;
  }

  private setHorizon(iteration: number, cycleSeconds: number): void {
    const c = this.cycle!;
    const from = this.measureFrom!;
    const secondsPerStep = (this.stepSeconds - from.stepSeconds) / Math.max(1, iteration - from.iteration);
    const secondsPerEval = this.evalSeconds ?? (secondsPerStep * this.evalCharsEstimate * EVAL_COST_PER_CHAR) / (this.config.batchSize * this.config.seqLength);
    const horizon = horizonFromTime({
      iteration, secondsLeft: c.seconds! - cycleSeconds, secondsPerStep, secondsPerEval, evalEvery: this.config.evalEvery,
    });
    c.horizon = c.iterationLimit !== null ? Math.min(horizon, c.iterationLimit) : horizon;
  }
}

/**
 * The cycle a run starts (or a resume with a new budget starts) at `iteration` with learning rate `from`:
 * warm-up to --lr, then the decay to the floor at the end of the budget.
 */
export function newCycle(config: TrainingConfig, itersPerEpoch: number, iteration: number, from: number, seconds: number): ScheduleCycle {
  const limit = iterationBudget(config, itersPerEpoch);
  const timed = config.timeLimit !== null;
  const horizon = timed ? null : limit ?? iteration + 1;
  const warmup = config.warmup ?? (horizon !== null ? defaultWarmup(horizon - iteration) : null);
  return {
    start: iteration, startSeconds: seconds, from, warmup: warmup !== null && horizon !== null ? Math.min(warmup, Math.max(1, horizon - iteration)) : warmup,
    horizon, seconds: timed ? config.timeLimit : null, iterationLimit: limit,
  };
}
