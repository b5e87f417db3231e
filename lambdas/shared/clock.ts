// Handlers ask this module for the time instead of Date, so the local rehearsal can run a release on a
// compressed, simulated clock. On AWS the clock is the real one.

export interface Clock {
  /** The current time, ISO-8601 UTC. */
  now(): string;
}

const realClock: Clock = { now: () => new Date().toISOString() };

let current: Clock = realClock;

export function now(): string {
  return current.now();
}

/** Used by the local rehearsal's composition root only. */
export function useClock(clock: Clock): void {
  current = clock;
}

export function useRealClock(): void {
  current = realClock;
}
