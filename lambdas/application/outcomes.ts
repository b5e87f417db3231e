import { isOutcome, type OutcomeState, transitionTo } from '../core/lifecycle.js';
import { MIN_STEP_WAIT_SECONDS } from '../core/timeouts.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { countMetric, logger } from '../shared/observability.js';
import { oncePerRelease } from '../shared/once.js';
import { resumeWithSuccess } from '../shared/step-functions.js';
import { applyTransition } from '../store/customers.js';
import { endDeploymentClaim } from '../store/deployment-claims.js';
import { updateRelease } from '../store/releases.js';
import {
  claimStepSignal,
  countHealthEvidence,
  countOutcomeOnce,
  getStep,
  mayCompleteStep,
  releaseStepSignal,
  type StepRecord,
  setStepWaitToken,
  totalCounterShards,
  unacceptedWithoutHealthReport,
} from '../store/steps.js';
import { recordCustomerVersion } from './fleet.js';
import { pauseForFailedGate } from './pause.js';

export function stepSummary(counters: StepRecord) {
  const { total, deployed, failed, rejected, deferred, held, cancelled, superseded } = counters;
  return { total, deployed, failed, rejected, deferred, held, cancelled, superseded };
}

/**
 * Ends a customer's rollout in `outcome`, gives back its deployment claim (overlapping releases) and counts
 * it on its step exactly once (three store requests, two more to record a deployed customer's version; a
 * read when the transition was already applied by a retry, a duplicate or a rival, and one of the step when
 * this count completed its counter shard or the customer failed). When the customer had already ended otherwise (cancelled by
 * an abort, superseded by a newer release), that outcome is the one counted.
 */
export async function recordOutcome(
  release: string,
  customerId: string,
  outcome: OutcomeState,
  cause: { by: string; reason?: string },
): Promise<{ outcome: OutcomeState | undefined; counted: boolean }> {
  const at = now();
  const result = await applyTransition(
    release,
    customerId,
    transitionTo(outcome),
    { at, ...cause },
    { outcomeReason: cause.reason },
  );
  const customer = result.customer;
  if (!customer || !isOutcome(customer.state)) return { outcome: undefined, counted: false };
  // Every run, not only the one that applied the transition: a run that crashed after it still records it.
  if (customer.state === 'deployed' && outcome === 'deployed')
    await recordCustomerVersion(customer.id, release, 'deployed');
  // Its rollout ended: no deployment of it is in flight in this release any more (overlapping releases).
  await endDeploymentClaim(
    customer.id,
    release,
    customer.state === 'deployed' ? { at: customer.deployedAt ?? at } : undefined,
  );
  const counted = await countOutcomeOnce(release, customer.stepKey, customer.id, customer.state);
  if (counted) {
    if (customer.state === 'deferred') countMetric('ApprovalsDeferred');
    logger.info('Customer rollout ended', {
      outcome: customer.state,
      reason: customer.outcomeReason ?? null,
    });
  }
  // Deployed after its first health report arrived: this call counts the evidence (see recordHealthReport).
  if (customer.state === 'deployed' && customer.firstHealthReportAt)
    await countHealthEvidence(release, customer.stepKey, customer.id);
  // The step is read (its shards summed) only when it may be complete now: this count completed its shard,
  // its shard does not know its total yet (the step is not awaited yet, or was awaited before shards had
  // totals), or it was counted before (the run that counted it may have stopped before resuming). And for a
  // failure, whose step may deploy one customer at a time.
  const mayBeComplete = !counted || mayCompleteStep(counted);
  if (!mayBeComplete && customer.state !== 'failed')
    return { outcome: customer.state, counted: counted !== undefined };
  const step = await getStep(release, customer.stepKey);
  if (step?.oneAtATime && customer.state === 'failed')
    await gateOneAtATime(release, step, customer.id, customer.outcomeReason ?? cause.reason);
  if (mayBeComplete && step) await resumeIfStepComplete(release, customer.stepKey, step);
  return { outcome: customer.state, counted: counted !== undefined };
}

/**
 * The gate after each customer of a one-at-a-time step (enterprise): a failed deployment pauses the release
 * before the next customer deploys, and moves the release execution to its "a customer failed, awaiting
 * decision" state. Once per customer: a retry after an operator resumed does not pause again.
 */
async function gateOneAtATime(
  release: string,
  step: StepRecord,
  customerId: string,
  cause: string | undefined,
): Promise<void> {
  const what = `gate#${step.key}#${customerId}`;
  await oncePerRelease(release, what, async () => {
    const paused = await pauseForFailedGate(release, {
      what,
      steps: [step.key],
      reason: `${customerId} failed to deploy${cause ? ` (${cause})` : ''}; the next ${step.key} customer waits for a decision`,
    });
    if (paused && step.waitToken)
      await resumeWithSuccess(step.waitToken, { halted: true, customerFailed: true });
  });
}

/** How long the release waits for a step's outcomes from now: until the step's `waitUntil`, at least an hour. */
export async function stepWaitSeconds(release: string, key: string): Promise<number> {
  const step = await getStep(release, key);
  const until = step?.waitUntil ? Date.parse(step.waitUntil) : 0;
  return Math.max(MIN_STEP_WAIT_SECONDS, Math.ceil((until - Date.parse(now())) / 1000));
}

/**
 * Parks the release execution on a step until the step is complete (stepIsComplete: every outcome, every
 * deployed customer's health report). Halted before it parks (or while parked), the release moves on to
 * its "halted, awaiting decision" state instead.
 */
export async function awaitStep(release: string, key: string, token: string): Promise<void> {
  const record = await updateRelease(release, { awaitingStep: key });
  const step = await setStepWaitToken(release, key, token);
  // Once per step: its counter shards learn their totals, so the count that completes a shard reads the step.
  // Every count written before that is seen by the read below, which comes after.
  if (!step.shardsTotalled) await totalCounterShards(release, key);
  if (record.status !== 'running') {
    // Paused by one of this step's customers (one at a time): its own "customer failed" state.
    const customerFailed = record.pause?.by.startsWith(`gate#${key}#`) ?? false;
    await resumeWithSuccess(token, { halted: true, customerFailed });
    return;
  }
  await resumeIfStepComplete(release, key);
}

/**
 * Whether the step has what its gate judges: every customer's outcome, and a health report from every
 * deployed customer since its deployment (or the operator accepted its silence). Until then the release
 * waits on the step — its gate's evaluation period — at most until the step's wait ends.
 */
export function stepIsComplete(step: StepRecord): boolean {
  return step.recorded >= step.total && unacceptedWithoutHealthReport(step) === 0;
}

/**
 * Resumes the release execution parked on a step once the step is complete (stepIsComplete), and
 * publishes `Batch Completed` once. Called by whichever comes last: the step's wait, its last outcome or
 * the last health report it waited for.
 */
export async function resumeIfStepComplete(release: string, key: string, known?: StepRecord): Promise<void> {
  const counters = known ?? (await getStep(release, key));
  if (!counters?.waitToken || !stepIsComplete(counters)) return;
  // Resuming is idempotent: a token answers once, later answers are ignored.
  await resumeWithSuccess(counters.waitToken, { halted: false, ...stepSummary(counters) });
  // Signalled already (read with the counters): nothing to claim.
  if (counters.signalledAt || !(await claimStepSignal(release, key, now()))) return;
  try {
    await publish([
      {
        detailType: DETAIL_TYPES.batchCompleted,
        detail: {
          schemaVersion: SCHEMA_VERSION,
          release,
          at: now(),
          batch: key,
          summary: stepSummary(counters),
        },
      },
    ]);
  } catch (error) {
    await releaseStepSignal(release, key);
    throw error;
  }
}
