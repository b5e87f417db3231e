import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { claimStepSignal, getStep, releaseStepSignal, type StepRecord } from '../store/release-store.js';
import { now } from './clock.js';
import { resumeWithSuccess } from './step-functions.js';

export function stepSummary(counters: StepRecord) {
  const { total, deployed, failed, rejected, deferred, held } = counters;
  return { total, deployed, failed, rejected, deferred, held };
}

/**
 * Resumes the release execution parked on a step once every customer of the step has an outcome, and
 * publishes `Batch Completed` once. Called by whichever comes last: the step's wait or its last outcome.
 */
export async function resumeIfStepComplete(release: string, key: string): Promise<void> {
  const counters = await getStep(release, key);
  if (!counters?.waitToken || counters.recorded < counters.total) return;
  // Resuming is idempotent: a token answers once, later answers are ignored.
  await resumeWithSuccess(counters.waitToken, stepSummary(counters));
  if (!(await claimStepSignal(release, key, now()))) return;
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
