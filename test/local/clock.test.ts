import { setImmediate as nextTurn, setTimeout as realSleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ClockStoppedError, SimulatedClock } from '../../local/clock.js';

const START = '2030-03-04T09:00:00.000Z';
const day = (n: number) => new Date(Date.parse(START) + n * 86_400_000).toISOString();

describe('SimulatedClock', () => {
  const clocks: SimulatedClock[] = [];
  const newClock = (msPerSimulatedDay = 0) => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay });
    clocks.push(clock);
    return clock;
  };
  afterEach(() => {
    for (const clock of clocks.splice(0)) clock.stop();
  });

  it('starts at the given simulated time', () => {
    expect(newClock().now()).toBe(START);
  });

  it('wakes sleepers in time order, each at its own target time', async () => {
    const clock = newClock();
    const woke: string[] = [];
    const sleep = (target: string) => clock.at(target, () => woke.push(`${target} at ${clock.now()}`));
    await Promise.all([sleep(day(3)), sleep(day(1)), sleep(day(2)), sleep(day(1))]);
    expect(woke).toEqual([
      `${day(1)} at ${day(1)}`,
      `${day(1)} at ${day(1)}`,
      `${day(2)} at ${day(2)}`,
      `${day(3)} at ${day(3)}`,
    ]);
  });

  it('wakes thousands of sleepers by target, equal targets in the order they were asked for, skipping aborted ones', async () => {
    const clock = newClock();
    const woke: string[] = [];
    const aborts: AbortController[] = [];
    const sleepers = Array.from({ length: 3_000 }, (_, index) => {
      const target = day(1 + ((index * 7919) % 50));
      const abort = new AbortController();
      if (index % 3 === 0) aborts.push(abort);
      return clock
        .at(target, () => woke.push(`${target} #${index} at ${clock.now()}`), abort.signal)
        .catch(() => {});
    });
    for (const abort of aborts) abort.abort(new Error('no longer needed'));
    await Promise.all(sleepers);

    const expected = Array.from({ length: 3_000 }, (_, index) => index)
      .filter((index) => index % 3 !== 0)
      .map((index) => ({ index, target: day(1 + ((index * 7919) % 50)) }))
      .sort((a, b) => a.target.localeCompare(b.target) || a.index - b.index)
      .map(({ index, target }) => `${target} #${index} at ${target}`);
    expect(woke).toEqual(expected);
  });

  it('resolves at once, without moving the clock, when the target has already passed', async () => {
    const clock = newClock();
    await clock.until(day(1));
    await clock.until(day(-5));
    await clock.until(day(1));
    expect(clock.now()).toBe(day(1));
  });

  it('does not advance while tracked work is in flight', async () => {
    const clock = newClock();
    let finishWork = () => {};
    const tracked = clock.track(new Promise<string>((resolve) => (finishWork = () => resolve('done'))));
    let woke = false;
    const sleeping = clock.until(day(1)).then(() => (woke = true));
    await realSleep(30);
    expect(woke).toBe(false);
    expect(clock.now()).toBe(START);
    finishWork();
    expect(await tracked).toBe('done');
    await sleeping;
    expect(clock.now()).toBe(day(1));
  });

  it('does not advance while a hold is active, until every hold is released', async () => {
    const clock = newClock();
    const releaseApproval = clock.hold('waiting for ops@acme.example to approve');
    const releaseOther = clock.hold('waiting for cto@acme.example');
    let woke = false;
    const sleeping = clock.until(day(1)).then(() => (woke = true));
    await realSleep(20);
    expect(clock.holdReasons()).toEqual([
      'waiting for ops@acme.example to approve',
      'waiting for cto@acme.example',
    ]);
    releaseApproval();
    releaseApproval();
    await realSleep(20);
    expect(woke).toBe(false);
    releaseOther();
    await sleeping;
    expect(clock.now()).toBe(day(1));
  });

  it('holds time still while work started by at() runs, however it hops through the event loop', async () => {
    const clock = newClock();
    const order: string[] = [];
    const later = clock.until(day(2)).then(() => order.push(`day 2 at ${clock.now()}`));
    const started = await clock.at(day(1), async () => {
      order.push(`day 1 at ${clock.now()}`);
      await nextTurn();
      await realSleep(5);
      await nextTurn();
      void clock.at(day(1.5), () => order.push(`day 1.5 at ${clock.now()}`));
      return 'scheduled';
    });
    await later;
    expect(started).toBe('scheduled');
    expect(order).toEqual([`day 1 at ${day(1)}`, `day 1.5 at ${day(1.5)}`, `day 2 at ${day(2)}`]);
  });

  it('moves on the moment nothing is pending: what follows a bare until() is not pending work', async () => {
    const clock = newClock();
    const order: string[] = [];
    const later = clock.until(day(2)).then(() => order.push('day 2'));
    await clock.until(day(1)).then(async () => {
      await nextTurn();
      order.push(`after day 1, at ${clock.now()}`);
    });
    await later;
    expect(order).toEqual(['day 2', `after day 1, at ${day(2)}`]);
  });

  it('holds time still while an activity is awake, and lets it sleep until at() wakes it', async () => {
    const clock = newClock();
    const execution = clock.activity();
    const later = clock.until(day(2));
    await realSleep(20);
    expect(clock.now()).toBe(START);
    expect(clock.isIdle()).toBe(false);

    execution.sleep();
    await clock.at(day(1), () => execution.wake());
    await nextTurn();
    expect(clock.now()).toBe(day(1));

    execution.end();
    execution.wake();
    await later;
    expect(clock.now()).toBe(day(2));
    expect(clock.isIdle()).toBe(true);
  });

  it('pauses real time in proportion to the simulated time skipped when paced', async () => {
    const clock = newClock(20);
    const startedAt = performance.now();
    const realMsAt: Record<string, number> = {};
    await Promise.all(
      [1, 4].map((n) =>
        clock.until(day(n)).then(() => (realMsAt[`day ${n}`] = performance.now() - startedAt)),
      ),
    );
    // Lower bounds only (timers can be late, never much early): 1 day ≈ 20 ms, 4 days ≈ 80 ms.
    expect(realMsAt['day 1']).toBeGreaterThanOrEqual(15);
    expect(realMsAt['day 4']).toBeGreaterThanOrEqual(60);
    expect(realMsAt['day 4']).toBeGreaterThan(realMsAt['day 1'] ?? Number.POSITIVE_INFINITY);
  });

  it('ends pending sleepers with a clear error on stop, and refuses new ones', async () => {
    const clock = newClock(1_000_000);
    const paced = clock.until(day(30));
    const held = newClock();
    held.hold('a person is deciding');
    const frozen = held.until(day(1));
    await realSleep(10);
    clock.stop();
    held.stop();
    await expect(paced).rejects.toThrow(ClockStoppedError);
    await expect(frozen).rejects.toThrow(`stopped at ${START} before reaching ${day(1)}`);
    await expect(clock.until(day(31))).rejects.toThrow(ClockStoppedError);
  });

  it('forgets a sleeper whose signal aborts', async () => {
    const clock = newClock();
    const abort = new AbortController();
    const release = clock.hold('setting up');
    const abandoned = clock.until(day(1), abort.signal);
    const kept = clock.until(day(2));
    abort.abort(new Error('no longer needed'));
    await expect(abandoned).rejects.toThrow('no longer needed');
    release();
    await kept;
    expect(clock.now()).toBe(day(2));
  });

  it('rejects a start time or target that is not a time', async () => {
    expect(() => new SimulatedClock({ startAt: 'soon', msPerSimulatedDay: 0 })).toThrow('ISO 8601');
    expect(() => new SimulatedClock({ startAt: START, msPerSimulatedDay: -1 })).toThrow('msPerSimulatedDay');
    await expect(newClock().until('tomorrow')).rejects.toThrow(
      'until() needs an ISO 8601 time, got "tomorrow"',
    );
  });

  it('runs a schedule at each of its instants on the way to the next target, and never moves time on by itself', async () => {
    const clock = newClock();
    const ran: string[] = [];
    clock.every(6 * 3_600_000, '2030-03-04T15:00:00.000Z', () => ran.push(clock.now()));

    await clock.until(day(1));
    await nextTurn();

    expect(ran).toEqual([
      '2030-03-04T15:00:00.000Z',
      '2030-03-04T21:00:00.000Z',
      '2030-03-05T03:00:00.000Z',
      '2030-03-05T09:00:00.000Z',
    ]);
    await nextTurn();
    expect(clock.now()).toBe(day(1));
  });

  it('holds time while a scheduled run is in flight', async () => {
    const clock = newClock();
    const seen: string[] = [];
    clock.every(3_600_000, '2030-03-04T10:00:00.000Z', async () => {
      await nextTurn();
      seen.push(clock.now());
    });

    await clock.until('2030-03-04T12:00:00.000Z');

    expect(seen).toEqual(['2030-03-04T10:00:00.000Z', '2030-03-04T11:00:00.000Z']);
  });
});
