import { isSilent, rollbackWindow } from '../core/rollback.js';
import { now } from '../shared/clock.js';
import {
  customersDueForSweep,
  moveInSweepIndex,
  noteInHistory,
  SWEEP_AT_ONCE,
  type WatchedCustomer,
} from '../store/customers.js';
import { getRelease, listReleases, type ReleaseStatus } from '../store/releases.js';
import { markSilentOnStep } from '../store/steps.js';
import { configOf } from './release-config.js';
import { type RollbackStarter, requestRollback } from './rollbacks.js';

/** Releases still going (a paused or halted one resumes later): their deployed customers are watched. */
const GOING: readonly ReleaseStatus[] = ['running', 'paused', 'halted'];

export interface HealthSweepResult {
  releases: number;
  /** Releases none of whose customers needed the sweep. */
  notDue: number;
  /** Customers that needed the sweep, deployed and inside their rollback window. */
  watched: number;
  rollbacksStarted: number;
  /** Customers that needed the sweep and are silent now (flagged in this sweep or before). */
  silent: number;
  newlySilent: number;
}

/**
 * The scheduled health sweep: for every release still going, looks at each deployed customer inside its
 * rollback window that needs it. A trigger a health report fired that no rollback followed (the report came
 * before the deployment result, or its handling failed) requests the rollback now; a customer that has
 * reported nothing for longer than `healthSweep.silentAfterHours` is flagged silent in its history and counted
 * on its step, so the gates can pause on it; silence alone never rolls a customer back. A customer already
 * rolling back is asked again, which starts an execution a failed attempt did not. Safe to run twice.
 *
 * Only the customers that need it are read (store/customers.ts, SWEEP_INDEX): those heard from last longer
 * than `silentAfterHours` ago, and those with a trigger waiting or rolling back. A customer reporting on time
 * is never read; one flagged silent is next read when its rollback window closes (unless it reports again),
 * and then leaves the index.
 */
export async function sweepHealth(startRollback?: RollbackStarter): Promise<HealthSweepResult> {
  const result: HealthSweepResult = {
    releases: 0,
    notDue: 0,
    watched: 0,
    rollbacksStarted: 0,
    silent: 0,
    newlySilent: 0,
  };
  const failures: string[] = [];
  for (const release of await listReleases()) {
    const record = await getRelease(release);
    if (!record || !GOING.includes(record.status)) continue;
    result.releases += 1;
    const { silentAfterHours } = (await configOf(release)).release.healthSweep;
    const silentBefore = new Date(Date.parse(now()) - silentAfterHours * HOUR).toISOString();
    const due = await customersDueForSweep(release, silentBefore);
    if (due.length === 0) result.notDue += 1;
    for (const customer of due) {
      try {
        await sweepCustomer(release, customer, silentBefore, result, startRollback);
      } catch (error) {
        // One customer's failure does not keep the sweep from the others; the sweep fails at the end.
        failures.push(`${release}/${customer.id}: ${(error as Error).message}`);
      }
    }
  }
  if (failures.length > 0)
    throw new Error(
      `The health sweep failed for ${failures.length} customer(s): ${failures.slice(0, 5).join('; ')}`,
    );
  return result;
}

/**
 * Sweeps one customer the index found due (as re-read), and moves it in the index to when it next needs the
 * sweep: at once while it is rolling back; when it falls silent if it keeps quiet; when its rollback window
 * closes once it is flagged silent; out of the index once that window has closed or it is not watched.
 */
async function sweepCustomer(
  release: string,
  customer: WatchedCustomer,
  silentBefore: string,
  result: HealthSweepResult,
  startRollback?: RollbackStarter,
): Promise<void> {
  const seen = customer.sweepAt;
  // The index was behind: a report or transition since moved the customer on.
  if (seen === undefined || seen >= silentBefore) return;
  const config = await configOf(release);
  const at = now();
  if (customer.state === 'rolling-back') {
    await askAgain(release, customer, startRollback);
    return;
  }
  if (customer.state !== 'deployed' || !customer.deployedAt) {
    await moveInSweepIndex(release, customer.id, seen, undefined);
    return;
  }
  const window = rollbackWindow(
    customer.deployedAt,
    config.policies[customer.policy].rollback.windowDays,
    at,
  );
  if (!window.open) {
    await moveInSweepIndex(release, customer.id, seen, undefined);
    return;
  }
  result.watched += 1;
  if (customer.healthTrigger) {
    const rollback = await requestRollback(
      {
        release,
        customerId: customer.id,
        trigger: customer.healthTrigger.trigger,
        reason: customer.healthTrigger.reason,
        by: 'health-sweep',
      },
      startRollback,
    );
    if (rollback.kind === 'started') result.rollbacksStarted += 1;
    // Refused (its trigger turned off, its window closed): asked again only once it is due again.
    if (rollback.kind === 'refused') await moveInSweepIndex(release, customer.id, seen, at, true);
    return;
  }
  const { silentAfterHours } = config.release.healthSweep;
  const heardFrom = heardFromAt(customer.deployedAt, customer.lastHealthReportAt);
  if (!isSilent(customer.deployedAt, customer.lastHealthReportAt, silentAfterHours, at)) {
    await moveInSweepIndex(release, customer.id, seen, heardFrom, seen === SWEEP_AT_ONCE);
    return;
  }
  result.silent += 1;
  // Flagged silent, it needs the sweep again only when its window closes (or it reports, moving it itself).
  const atWindowEnd = new Date(Date.parse(window.closesAt) - silentAfterHours * HOUR).toISOString();
  if (customer.silentSince) {
    await moveInSweepIndex(release, customer.id, seen, atWindowEnd, seen === SWEEP_AT_ONCE);
    return;
  }
  const flagged = await noteInHistory(
    release,
    customer.id,
    'deployed',
    {
      at,
      by: 'health-sweep',
      reason: `silent: no health report since ${customer.lastHealthReportAt ?? `its deployment (${customer.deployedAt})`}, more than ${silentAfterHours} h`,
    },
    { set: { silentSince: at, sweepAt: atWindowEnd }, guardField: 'silentSince', onlyIf: 'absent' },
  );
  if (!flagged) return;
  await markSilentOnStep(release, customer.stepKey, customer.id, true);
  result.newlySilent += 1;
}

const HOUR = 3_600_000;

/** The instant the customer was last heard from: its deployment or its latest report. */
const heardFromAt = (deployedAt: string, lastHealthReportAt: string | undefined): string =>
  new Date(
    Math.max(Date.parse(deployedAt), lastHealthReportAt ? Date.parse(lastHealthReportAt) : 0),
  ).toISOString();

/** A customer rolling back is asked again: an execution a failed attempt did not start is started now. */
async function askAgain(release: string, customer: WatchedCustomer, startRollback?: RollbackStarter) {
  if (!customer.rollbackTrigger) return;
  await requestRollback(
    {
      release,
      customerId: customer.id,
      trigger: customer.rollbackTrigger,
      reason: customer.rollbackReason ?? '',
      by: 'health-sweep',
    },
    startRollback,
  );
}
