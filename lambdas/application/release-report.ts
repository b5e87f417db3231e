import { OUTCOME_STATES } from '../core/lifecycle.js';
import { rolloutShape } from '../core/rollout-shape.js';
import { releaseCompleted } from '../email/messages.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { logger } from '../shared/observability.js';
import { oncePerRelease } from '../shared/once.js';
import { emailCounts } from '../store/audit.js';
import { moveRelease, type ReleaseRecord, requireRelease } from '../store/releases.js';
import { getStepsForStatus, type StepRecord } from '../store/steps.js';
import { configOf } from './release-config.js';

// The release's report, from its aggregates: the counters of its steps (each customer's outcome and
// rollback counted once on its step) and the email counters; a few batched reads whatever the fleet's size,
// never a read of its customers.

type Counts = Record<string, number>;

/**
 * Per phase, the customers in each outcome (a rolled-back customer counts as `rolled-back`, no longer as
 * `deployed`; customers without an outcome, if any, as `withoutOutcome`), the release's totals and the emails
 * sent by kind.
 */
export async function releaseReport(record: ReleaseRecord): Promise<Record<string, unknown>> {
  const { release } = record;
  const keys = Object.keys(record.schedule.steps ?? {});
  const phaseOf = await stepPhases(record);
  const phases: Record<string, Counts> = {};
  const totals = {
    customers: 0,
    deployments: 0,
    deployed: 0,
    failed: 0,
    rolledBack: 0,
    rollbackFailed: 0,
    superseded: 0,
  };
  for (const step of await getStepsForStatus(release, keys)) {
    const phase = phaseOf(step.key);
    phases[phase] ??= Object.fromEntries(OUTCOME_STATES.map((outcome) => [outcome, 0]));
    const counts = phases[phase];
    const states = statesOf(step);
    for (const [state, count] of Object.entries(states)) counts[state] = (counts[state] ?? 0) + count;
    totals.customers += step.total;
    totals.deployments += step.deployed;
    totals.deployed += states.deployed ?? 0;
    totals.failed += step.failed;
    totals.rolledBack += step.rolledBack;
    totals.rollbackFailed += step.rollbackFailed;
    totals.superseded += step.superseded;
  }
  // A customer rolled back (or whose rollback failed) was deployed: its deployment succeeded.
  const attempted = totals.deployments + totals.failed;
  const { deployments, ...counted } = totals;
  return {
    release,
    completedAt: now(),
    phases,
    totals: {
      ...counted,
      notDeployed: totals.customers - totals.deployed,
      deploymentSuccessRatePercent: attempted === 0 ? 100 : Math.round((deployments / attempted) * 1000) / 10,
    },
    emails: await emailCounts(release),
  };
}

/**
 * The release completes: its report is stored on it (made once, kept on a retry), told to the escalation
 * contacts once and announced once.
 */
export async function completeRelease(release: string): Promise<Record<string, unknown>> {
  const current = await requireRelease(release);
  const report = current.report ?? (await releaseReport(current));
  if (current.status !== 'completed') await moveRelease(release, ['running'], 'completed', { report });
  const totals = report.totals as Record<string, number>;
  logger.info('Release completed', { totals });
  await oncePerRelease(release, 'completionEmailedAt', () =>
    emailEscalationContacts(release, 'completion', releaseCompleted({ release, summary: totals })),
  );
  await oncePerRelease(release, 'completionPublishedAt', () =>
    publish([
      {
        detailType: DETAIL_TYPES.releaseCompleted,
        detail: { schemaVersion: SCHEMA_VERSION, release, at: String(report.completedAt), summary: totals },
      },
    ]),
  );
  return report;
}

/** A step's customers by the state they ended in (only states some customer is in, besides outcomes). */
function statesOf(step: StepRecord): Counts {
  const states: Counts = {
    deployed: Math.max(0, step.deployed - step.rolledBack - step.rollbackFailed),
    failed: step.failed,
    rejected: step.rejected,
    deferred: step.deferred,
    held: step.held,
    cancelled: step.cancelled,
    superseded: step.superseded,
  };
  if (step.rolledBack > 0) states['rolled-back'] = step.rolledBack;
  if (step.rollbackFailed > 0) states['rollback-failed'] = step.rollbackFailed;
  if (step.total > step.recorded) states.withoutOutcome = step.total - step.recorded;
  return states;
}

/** The phase of each step key, as the release's policies shape its workflow. */
async function stepPhases(record: ReleaseRecord): Promise<(key: string) => string> {
  const byKey = new Map(
    rolloutShape(await configOf(record)).flatMap((phase) =>
      phase.steps.map((step) => [step.key, phase.name]),
    ),
  );
  return (key) => byKey.get(key) ?? key.replace(/_\d+$/, '');
}
