import { isSilent, isWithinRollbackWindow } from '../core/rollback.js';
import { now } from '../shared/clock.js';
import { customersIn, noteInHistory, type WatchedCustomer } from '../store/customers.js';
import { setSweepDue, sweepMarkerOf } from '../store/health-sweeps.js';
import { getRelease, listReleases, type ReleaseStatus } from '../store/releases.js';
import { markSilentOnStep } from '../store/steps.js';
import { configOf } from './release-config.js';
import { type RollbackStarter, requestRollback } from './rollbacks.js';

/** Releases still going (a paused or halted one resumes later): their deployed customers are watched. */
const GOING: readonly ReleaseStatus[] = ['running', 'paused', 'halted'];

export interface HealthSweepResult {
  releases: number;
  /** Releases none of whose customers could need the sweep yet: their customers were not read. */
  notDue: number;
  /** Deployed customers inside their rollback window. */
  watched: number;
  rollbacksStarted: number;
  /** Watched customers silent now (flagged in this sweep or before). */
  silent: number;
  newlySilent: number;
}

/**
 * The scheduled health sweep: for every release still going, looks at each deployed customer inside its
 * rollback window. A trigger a health report fired that no rollback followed (the report came before the
 * deployment result, or its handling failed) requests the rollback now; a customer that has reported
 * nothing for longer than `healthSweep.silentAfterHours` is flagged silent in its history and counted on
 * its step, so the gates can pause on it; silence alone never rolls a customer back. A customer already
 * rolling back is asked again, which starts an execution a failed attempt did not. Safe to run twice.
 *
 * A release's customers are read only when one may need it (store/health-sweeps.ts): a pass notes on the
 * release's record the earliest instant a watched customer can fall silent (one deployed later falls silent
 * no earlier than `silentAfterHours` after the pass), or none while one is rolling back; a trigger waiting
 * for a deployment and every rollback request ask for the next run at once. Runs before that instant read
 * the release's record only. With customers reporting about as rarely as `silentAfterHours` (the
 * rehearsal's daily reports against 24 h) most runs read them all: one query of the release's customers.
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
    const at = now();
    const marker = sweepMarkerOf(record);
    if (marker.dueAt && Date.parse(at) < Date.parse(marker.dueAt)) {
      result.notDue += 1;
      continue;
    }
    // A customer deployed after this pass cannot fall silent before `silentAfterHours` from now.
    const { silentAfterHours, rateMinutes } = (await configOf(release)).release.healthSweep;
    let nextSweepAt = Date.parse(at) + silentAfterHours * HOUR;
    const failedBefore = failures.length;
    for await (const customer of customersIn(release, ['deployed', 'rolling-back'])) {
      try {
        const due = await sweepCustomer(release, customer, result, startRollback);
        if (due !== undefined) nextSweepAt = Math.min(nextSweepAt, due);
      } catch (error) {
        // One customer's failure does not keep the sweep from the others; the sweep fails at the end.
        failures.push(`${release}/${customer.id}: ${(error as Error).message}`);
      }
    }
    // Noted only when it lets a run go by: an earlier instant is the next run's anyway.
    if (failures.length === failedBefore && nextSweepAt > Date.parse(at) + rateMinutes * MINUTE)
      await setSweepDue(release, marker, new Date(nextSweepAt).toISOString());
  }
  if (failures.length > 0)
    throw new Error(
      `The health sweep failed for ${failures.length} customer(s): ${failures.slice(0, 5).join('; ')}`,
    );
  return result;
}

/**
 * Sweeps one watched customer; returns when it next needs the sweep (epoch ms: now for a customer rolling
 * back, else when it falls silent if it keeps quiet), undefined when it needs none (out of its window,
 * silent already, or rolled back by a trigger).
 */
async function sweepCustomer(
  release: string,
  customer: WatchedCustomer,
  result: HealthSweepResult,
  startRollback?: RollbackStarter,
): Promise<number | undefined> {
  const config = await configOf(release);
  const at = now();
  if (customer.state === 'rolling-back') {
    await askAgain(release, customer, startRollback);
    return Date.parse(at);
  }
  if (customer.state !== 'deployed' || !customer.deployedAt) return undefined;
  const windowDays = config.policies[customer.policy].rollback.windowDays;
  if (!isWithinRollbackWindow(customer.deployedAt, windowDays, at)) return undefined;
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
    return rollback.kind === 'refused' ? undefined : Date.parse(at);
  }
  const { silentAfterHours } = config.release.healthSweep;
  if (!isSilent(customer.deployedAt, customer.lastHealthReportAt, silentAfterHours, at))
    return heardFrom(customer.deployedAt, customer.lastHealthReportAt) + silentAfterHours * HOUR + 1;
  result.silent += 1;
  if (customer.silentSince) return undefined;
  const flagged = await noteInHistory(
    release,
    customer.id,
    'deployed',
    {
      at,
      by: 'health-sweep',
      reason: `silent: no health report since ${customer.lastHealthReportAt ?? `its deployment (${customer.deployedAt})`}, more than ${silentAfterHours} h`,
    },
    { set: { silentSince: at }, guardField: 'silentSince', onlyIf: 'absent' },
  );
  if (!flagged) return undefined;
  await markSilentOnStep(release, customer.stepKey, customer.id, true);
  result.newlySilent += 1;
  return undefined;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const heardFrom = (deployedAt: string, lastHealthReportAt: string | undefined): number =>
  Math.max(Date.parse(deployedAt), lastHealthReportAt ? Date.parse(lastHealthReportAt) : 0);

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
