import { isSilent, isWithinRollbackWindow } from '../core/rollback.js';
import { now } from '../shared/clock.js';
import { customersIn, noteInHistory, type WatchedCustomer } from '../store/customers.js';
import { getRelease, listReleases, type ReleaseStatus } from '../store/releases.js';
import { markSilentOnStep } from '../store/steps.js';
import { configOf } from './release-config.js';
import { type RollbackStarter, requestRollback } from './rollbacks.js';

/** Releases still going (a paused or halted one resumes later): their deployed customers are watched. */
const GOING: readonly ReleaseStatus[] = ['running', 'paused', 'halted'];

export interface HealthSweepResult {
  releases: number;
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
 */
export async function sweepHealth(startRollback?: RollbackStarter): Promise<HealthSweepResult> {
  const result: HealthSweepResult = {
    releases: 0,
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
    for await (const customer of customersIn(release, ['deployed', 'rolling-back'])) {
      try {
        await sweepCustomer(release, customer, result, startRollback);
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

async function sweepCustomer(
  release: string,
  customer: WatchedCustomer,
  result: HealthSweepResult,
  startRollback?: RollbackStarter,
): Promise<void> {
  const config = await configOf(release);
  if (customer.state === 'rolling-back') return askAgain(release, customer, startRollback);
  if (customer.state !== 'deployed' || !customer.deployedAt) return;
  const windowDays = config.policies[customer.policy].rollback.windowDays;
  const at = now();
  if (!isWithinRollbackWindow(customer.deployedAt, windowDays, at)) return;
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
    return;
  }
  const { silentAfterHours } = config.release.healthSweep;
  if (!isSilent(customer.deployedAt, customer.lastHealthReportAt, silentAfterHours, at)) return;
  result.silent += 1;
  if (customer.silentSince) return;
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
  if (!flagged) return;
  await markSilentOnStep(release, customer.stepKey, customer.id, true);
  result.newlySilent += 1;
}

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
