/**
 * The simulated clock of a rehearsal: a discrete-event clock. Simulated time stands still while
 * anything is happening (tracked work in flight, a hold active) and, once the system is idle, jumps
 * to the earliest pending `until()` target — at once, or after a real pause proportional to the
 * simulated time skipped (`msPerSimulatedDay`).
 *
 * Do not `track()` work that itself waits on `until()`: time could never reach it.
 */

export const MS_PER_DAY = 86_400_000;

// Promise chains (e.g. a state machine interpreter moving between states) hop through the event
// loop; idleness must survive this many turns before it counts. Four turns proved too few once in a
// loaded full test run (a timer-based hop came late); six cost nothing measurable (1,000 customers: 31.5 s).
const SETTLE_TURNS = 6;

export interface SimulatedClockOptions {
  /** ISO 8601 simulated start time. */
  startAt: string;
  /** Real milliseconds per simulated day; 0 = as fast as possible. */
  msPerSimulatedDay: number;
}

export class ClockStoppedError extends Error {
  override name = 'ClockStoppedError';
}

interface Sleeper {
  targetMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

export class SimulatedClock {
  #nowMs: number;
  readonly #msPerSimulatedDay: number;
  #inFlight = 0;
  readonly #holds = new Map<symbol, string>();
  /** Kept in target order; equal targets in arrival order. */
  #sleepers: Sleeper[] = [];
  readonly #advanceListeners = new Set<(nowIso: string) => void>();
  /** Bumped by anything that happens, so the driver can tell whether the system stayed quiet. */
  #activity = 0;
  #stopped = false;
  #driving = false;
  #wakeDriver: (() => void) | undefined;
  #pacing: { timer: NodeJS.Timeout; end(): void } | undefined;
  /** The latest target whose real pause has already been waited out (paced mode). */
  #pausedForMs: number | undefined;

  constructor({ startAt, msPerSimulatedDay }: SimulatedClockOptions) {
    this.#nowMs = parseSimTime(startAt, 'startAt');
    if (!Number.isFinite(msPerSimulatedDay) || msPerSimulatedDay < 0) {
      throw new RangeError(`msPerSimulatedDay must be a number ≥ 0, got ${msPerSimulatedDay}`);
    }
    this.#msPerSimulatedDay = msPerSimulatedDay;
  }

  now(): string {
    return new Date(this.#nowMs).toISOString();
  }

  /** Resolves once simulated time reaches `isoSimTime`; at once if it already has. */
  until(isoSimTime: string, signal?: AbortSignal): Promise<void> {
    if (this.#stopped) return Promise.reject(new ClockStoppedError(`The simulated clock is stopped`));
    let targetMs: number;
    try {
      targetMs = parseSimTime(isoSimTime, 'until()');
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (targetMs <= this.#nowMs) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((other) => other !== sleeper);
        this.#poke();
        reject(signal?.reason);
      };
      const sleeper: Sleeper = {
        targetMs,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const after = this.#sleepers.findIndex((other) => other.targetMs > targetMs);
      this.#sleepers.splice(after === -1 ? this.#sleepers.length : after, 0, sleeper);
      this.#poke();
      void this.#drive();
    });
  }

  /** Keeps simulated time still until `work` settles; returns `work`. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight++;
    this.#poke();
    return work.finally(() => {
      this.#inFlight--;
      this.#poke();
    });
  }

  /** Keeps simulated time still (e.g. while a person decides) until the returned release is called. */
  hold(reason: string): () => void {
    const id = Symbol(reason);
    this.#holds.set(id, reason);
    this.#poke();
    return () => {
      if (this.#holds.delete(id)) this.#poke();
    };
  }

  /** Why simulated time is held, for progress printing. */
  holdReasons(): string[] {
    return [...this.#holds.values()];
  }

  /** Calls `listener` with the new simulated time after every advance; returns an unsubscribe. */
  onAdvance(listener: (nowIso: string) => void): () => void {
    this.#advanceListeners.add(listener);
    return () => this.#advanceListeners.delete(listener);
  }

  /** Ends the clock: pending and later `until()` calls reject with ClockStoppedError. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const pending = this.#sleepers;
    this.#sleepers = [];
    for (const sleeper of pending) {
      sleeper.reject(
        new ClockStoppedError(
          `The simulated clock stopped at ${this.now()} before reaching ${new Date(sleeper.targetMs).toISOString()}`,
        ),
      );
    }
    if (this.#pacing) {
      clearTimeout(this.#pacing.timer);
      this.#pacing.end();
    }
    this.#poke();
  }

  #isIdle(): boolean {
    return this.#inFlight === 0 && this.#holds.size === 0;
  }

  #poke(): void {
    this.#activity++;
    const wake = this.#wakeDriver;
    this.#wakeDriver = undefined;
    wake?.();
  }

  /** Moves time forward for as long as there are sleepers; one driver at a time. */
  async #drive(): Promise<void> {
    if (this.#driving) return;
    this.#driving = true;
    while (!this.#stopped && this.#sleepers.length > 0) {
      if (!this.#isIdle()) {
        await new Promise<void>((resolve) => {
          this.#wakeDriver = resolve;
        });
        continue;
      }
      if (!(await this.#staysIdle())) continue;
      const targetMs = this.#sleepers[0]?.targetMs;
      if (targetMs === undefined) break;
      const pauseDone = this.#pausedForMs !== undefined && targetMs <= this.#pausedForMs;
      if (this.#msPerSimulatedDay > 0 && !pauseDone) {
        await this.#pause(((targetMs - this.#nowMs) * this.#msPerSimulatedDay) / MS_PER_DAY);
        this.#pausedForMs = targetMs;
        continue; // the world may have changed meanwhile: check idleness and the earliest target again
      }
      this.#advanceTo(targetMs);
    }
    this.#pausedForMs = undefined;
    this.#driving = false;
  }

  async #staysIdle(): Promise<boolean> {
    const mark = this.#activity;
    for (let turn = 0; turn < SETTLE_TURNS; turn++) {
      await new Promise<void>((resolve) => (turn % 2 === 0 ? setImmediate(resolve) : setTimeout(resolve, 0)));
      if (this.#stopped || this.#activity !== mark) return false;
    }
    return true;
  }

  #pause(realMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => {
        this.#pacing = undefined;
        resolve();
      };
      // Kept referenced while sleepers wait, so a rehearsal waiting on simulated time stays alive;
      // stop() clears it.
      this.#pacing = { timer: setTimeout(end, realMs), end };
    });
  }

  #advanceTo(targetMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, targetMs);
    if (this.#pausedForMs !== undefined && this.#nowMs >= this.#pausedForMs) this.#pausedForMs = undefined;
    const due = this.#sleepers.filter((sleeper) => sleeper.targetMs <= this.#nowMs);
    this.#sleepers = this.#sleepers.filter((sleeper) => sleeper.targetMs > this.#nowMs);
    for (const sleeper of due) sleeper.resolve();
    const nowIso = this.now();
    for (const listener of this.#advanceListeners) {
      try {
        listener(nowIso);
      } catch (error) {
        // A broken progress printer must not stall the clock; surface it as an uncaught error instead.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function parseSimTime(iso: string, what: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`${what} needs an ISO 8601 time, got ${JSON.stringify(iso)}`);
  return ms;
}
