import { DateTime } from 'luxon';
import { bundledConfig } from '../../../lambdas/core/config.js';
import { addHealthReport } from '../../../lambdas/core/gates.js';
import { planRelease } from '../../../lambdas/core/plan.js';
import { type ReleaseSchedule, scheduleOf } from '../../../lambdas/core/rollout-shape.js';
import { audit } from '../../../lambdas/store/audit.js';
import {
  createRelease,
  moveRelease,
  type ReleaseStatus,
  updateRelease,
} from '../../../lambdas/store/releases.js';
import {
  changeStepHealth,
  claimStepSignal,
  countHealthEvidence,
  countOutcomeOnce,
  putStepIfAbsent,
  setStepWaitToken,
} from '../../../lambdas/store/steps.js';
import { sampleFleet } from '../../../local/sample-fleet.js';

// A release in a dynalite table, as far as its workflow got: its record with the planned schedule, steps
// completed (one deployed customer each, reported healthy), gates evaluated.

export const STARTED_AT = '2027-03-01T09:00:00Z';

export async function givenStartedRelease(
  version: string,
  status: ReleaseStatus = 'running',
): Promise<ReleaseSchedule> {
  const config = bundledConfig();
  const fleet = sampleFleet(config.policies);
  const plan = planRelease({
    version,
    config,
    fleet,
    startAt: DateTime.fromISO(STARTED_AT, { zone: 'utc' }),
  });
  const schedule = scheduleOf(plan, config);
  await createRelease(schedule, { config, fleetRevision: 1 });
  if (status !== 'planning') await moveRelease(version, ['planning'], status);
  return schedule;
}

/** A step whose one customer deployed and reported, completed at `completedAt`. */
export async function givenCompletedStep(version: string, key: string, completedAt: string): Promise<void> {
  await putStepIfAbsent(version, key, { total: 1, oneAtATime: false, waitUntil: completedAt });
  await countOutcomeOnce(version, key, `${key}-customer`, 'deployed');
  await countHealthEvidence(version, key, `${key}-customer`);
  await setStepWaitToken(version, key, `${key}-token`);
  await claimStepSignal(version, key, completedAt);
}

export async function givenGate(version: string, gate: string, passed: boolean, at: string): Promise<void> {
  await audit(version, at, `gate#${gate}`, {
    passed,
    reasons: passed ? [] : ['1 critical error(s) reported'],
  });
}

export async function givenPausedByGate(version: string, gate: string, steps: string[]): Promise<void> {
  await updateRelease(version, {
    status: 'paused',
    pause: {
      kind: 'gate-failed',
      reason: `gate ${gate} failed`,
      since: STARTED_AT,
      by: `gate#${gate}`,
      steps,
    },
  });
}

export async function givenCriticalErrorReported(version: string, key: string): Promise<void> {
  await changeStepHealth(version, key, (health) =>
    addHealthReport(
      health,
      {
        key: `${key}-customer#report`,
        customerId: `${key}-customer`,
        latencyChangePercent: 0,
        criticalErrors: 1,
        securityFindings: 0,
        supportTickets: 0,
        supportTicketsBaseline: 0,
      },
      { maxPerformanceDegradationPercent: 5, maxSupportTicketIncreasePercent: 10 },
    ),
  );
}
