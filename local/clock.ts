/**
 * The simulated clock of a rehearsal: a discrete-event clock. Simulated time stands still while any
 * work is pending (tracked work in flight, an activity awake, a hold active) and, the moment none is,
 * jumps to the earliest `at()` / `until()` target — at once, or after a real pause proportional to the
 * simulated time skipped (`msPerSimulatedDay`).
 *
 * Idleness is exact, not guessed from quiet event-loop turns: whatever can still produce work must be
 * pending, and work hands over to the work it starts before it ends (start the next tracked work, or
 * wake an activity, synchronously). Work that resumes at a simulated time is scheduled with `at()`, which
 * starts it as tracked work at the instant time gets there; the continuation of a bare `until()` is
 * not pending work, and time may move on before it runs.
 *
 * Do not `track()` work that itself waits on the clock: time could never reach it. An `activity()`
 * sleeps while it waits instead.
 */

export const MS_PER_DAY = 86_400_000;

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
  /** Arrival order, so equal targets wake in the order they were asked for. */
  order: number;
  /** Called as time reaches the target, before the clock checks for pending work again. */
  wake(): void;
  reject(error: unknown): void;
  /** Taken, or aborted while it slept (then left in the heap, skipped when it comes up). */
  removed?: boolean;
}

/** Sleepers by target, then arrival: a binary heap, O(log n) per sleeper however many sleep at once. */
class SleeperQueue {
  readonly #heap: Sleeper[] = [];
  #live = 0;
  #arrivals = 0;

  get size(): number {
    return this.#live;
  }

  add(sleeper: Omit<Sleeper, 'order'>): Sleeper {
    const added = Object.assign(sleeper, { order: this.#arrivals++ });
    this.#heap.push(added);
    this.#live++;
    this.#up(this.#heap.length - 1);
    return added;
  }

  cancel(sleeper: Sleeper): void {
    if (sleeper.removed) return;
    sleeper.removed = true;
    this.#live--;
    // Aborted sleepers wait in the heap until they come up; once they are most of it, it is rebuilt.
    if (this.#heap.length > 64 && this.#live < this.#heap.length / 2) this.#compact();
  }

  #compact(): void {
    const live = this.#heap.filter((sleeper) => !sleeper.removed);
    this.#heap.length = 0;
    for (const sleeper of live) {
      this.#heap.push(sleeper);
      this.#up(this.#heap.length - 1);
    }
  }

  /** The earliest sleeper still waiting. */
  peek(): Sleeper | undefined {
    while (this.#heap[0]?.removed) this.#pop();
    return this.#heap[0];
  }

  /** Takes the earliest sleeper still waiting. */
  take(): Sleeper | undefined {
    const first = this.peek();
    if (first) {
      this.#pop();
      this.cancel(first);
    }
    return first;
  }

  /** Takes every sleeper still waiting, earliest first. */
  takeAll(): Sleeper[] {
    const all: Sleeper[] = [];
    for (let next = this.take(); next; next = this.take()) all.push(next);
    return all;
  }

  #pop(): void {
    const last = this.#heap.pop();
    if (last && this.#heap.length > 0) {
      this.#heap[0] = last;
      this.#down(0);
    }
  }

  #before(a: Sleeper, b: Sleeper): boolean {
    return a.targetMs < b.targetMs || (a.targetMs === b.targetMs && a.order < b.order);
  }

  #up(index: number): void {
    const heap = this.#heap;
    const item = heap[index] as Sleeper;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as Sleeper;
      if (!this.#before(item, parent)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = item;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const item = heap[index] as Sleeper;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      const right = child + 1;
      if (right < heap.length && this.#before(heap[right] as Sleeper, heap[child] as Sleeper)) child = right;
      if (!this.#before(heap[child] as Sleeper, item)) break;
      heap[index] = heap[child] as Sleeper;
      index = child;
    }
    heap[index] = item;
  }
}

/** Work that is pending except while it sleeps (e.g. a state machine execution between its waits). */
export interface Activity {
  /** It waits on something the clock accounts for (a time, another piece of work): no longer pending. */
  sleep(): void;
  /** Pending again; call it synchronously from the work or the `at()` that resumes it. */
  wake(): void;
  /** Done for good. */
  end(): void;
}

/** Work repeated on the simulated clock (a schedule), which by itself never moves time on. */
interface Recurring {
  nextMs: number;
  everyMs: number;
  work(): Promise<unknown> | unknown;
}

export class SimulatedClock {
  #nowMs: number;
  /** now() as last formatted: handlers ask for it far more often than time moves. */
  #nowIso: { ms: number; iso: string } | undefined;
  #recurring: Recurring[] = [];
  readonly #msPerSimulatedDay: number;
  #inFlight = 0;
  readonly #holds = new Map<symbol, string>();
  readonly #sleepers = new SleeperQueue();
  readonly #advanceListeners = new Set<(nowIso: string) => void>();
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
    if (this.#nowIso?.ms !== this.#nowMs)
      this.#nowIso = { ms: this.#nowMs, iso: new Date(this.#nowMs).toISOString() };
    return this.#nowIso.iso;
  }

  /**
   * Resolves once simulated time reaches `isoSimTime`; at once if it already has. What runs after it is
   * not pending work: use `at()` for work that must happen before time moves on.
   */
  until(isoSimTime: string, signal?: AbortSignal): Promise<void> {
    return this.at(isoSimTime, () => {}, signal);
  }

  /**
   * Starts `work` as tracked work the instant simulated time reaches `isoSimTime` (at once if it already
   * has), so time stands still until the promise it returns settles; resolves with its result.
   */
  at<T>(isoSimTime: string, work: () => T | Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#stopped) return Promise.reject(new ClockStoppedError(`The simulated clock is stopped`));
    let targetMs: number;
    try {
      targetMs = parseSimTime(isoSimTime, 'until()');
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const start = () => this.track(Promise.resolve().then(work));
    if (targetMs <= this.#nowMs) return start();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#sleepers.cancel(sleeper);
        this.#poke();
        reject(signal?.reason);
      };
      const sleeper = this.#sleepers.add({
        targetMs,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(start());
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#poke();
      // Never inside a call to the clock: the caller's synchronous code (more sleepers, work it starts) comes first.
      queueMicrotask(() => void this.#drive());
    });
  }

  /**
   * Runs `work` as tracked work every `everyMs` of simulated time, first at `firstAt`, as a schedule does; it
   * returns a cancel. A schedule alone does not move time on: it runs at its instants on the way to the next
   * `at()` / `until()` target, so a world with nothing left to do stands still instead of sweeping forever.
   */
  every(everyMs: number, firstAt: string, work: () => Promise<unknown> | unknown): () => void {
    if (!Number.isFinite(everyMs) || everyMs <= 0)
      throw new RangeError(`every() needs a period > 0, got ${everyMs}`);
    const recurring: Recurring = { nextMs: parseSimTime(firstAt, 'every()'), everyMs, work };
    this.#recurring.push(recurring);
    return () => {
      this.#recurring = this.#recurring.filter((other) => other !== recurring);
    };
  }

  /** Keeps simulated time still until `work` settles; returns `work`. */
  track<T>(work: Promise<T>): Promise<T> {
    const done = this.#pending();
    return work.finally(done);
  }

  /** Work that keeps simulated time still while awake; it starts awake. */
  activity(): Activity {
    let done: (() => void) | undefined = this.#pending();
    let ended = false;
    return {
      sleep: () => {
        done?.();
        done = undefined;
      },
      wake: () => {
        if (!ended) done ??= this.#pending();
      },
      end: () => {
        ended = true;
        done?.();
        done = undefined;
      },
    };
  }

  /** Whether anything keeps simulated time still right now. */
  isIdle(): boolean {
    return this.#inFlight === 0 && this.#holds.size === 0;
  }

  #pending(): () => void {
    this.#inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#inFlight--;
      this.#poke();
    };
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
    this.#recurring = [];
    for (const sleeper of this.#sleepers.takeAll()) {
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

  #poke(): void {
    const wake = this.#wakeDriver;
    this.#wakeDriver = undefined;
    wake?.();
  }

  /** Moves time forward for as long as there are sleepers; one driver at a time. */
  async #drive(): Promise<void> {
    if (this.#driving) return;
    this.#driving = true;
    while (!this.#stopped && this.#sleepers.size > 0) {
      if (!this.isIdle()) {
        await new Promise<void>((resolve) => {
          this.#wakeDriver = resolve;
        });
        continue;
      }
      const sleeperMs = this.#sleepers.peek()?.targetMs;
      if (sleeperMs === undefined) break;
      const targetMs = Math.min(sleeperMs, ...this.#recurring.map((recurring) => recurring.nextMs));
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
    const due: Sleeper[] = [];
    for (let next = this.#sleepers.peek(); next && next.targetMs <= this.#nowMs; next = this.#sleepers.peek())
      due.push(this.#sleepers.take() as Sleeper);
    for (const sleeper of due) sleeper.wake();
    for (const recurring of this.#recurring) {
      if (recurring.nextMs > this.#nowMs) continue;
      // Instants missed (time jumped past them before the schedule existed) are not run again.
      while (recurring.nextMs <= this.#nowMs) recurring.nextMs += recurring.everyMs;
      void this.track(Promise.resolve().then(recurring.work)).catch(() => {});
    }
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
