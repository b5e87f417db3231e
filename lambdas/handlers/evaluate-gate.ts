import { z } from 'zod';
import { holdOf } from '../application/control.js';
import { pauseForFailedGate } from '../application/pause.js';
import { combineHealth, evaluateGate, gateAuditRecord, healthSince, summarizeGate } from '../core/gates.js';
import { rolloutShape } from '../core/rollout-shape.js';
import { now } from '../shared/clock.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { countMetric, logger } from '../shared/observability.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { audit } from '../store/audit.js';
import { requireRelease } from '../store/releases.js';
import { getStep, healthOf } from '../store/steps.js';

const input = z.strictObject({
  release: z.string(),
  phase: z.string(),
  /** A step key gates one batch; without it the whole phase is gated. */
  step: z.string().optional(),
});

/**
 * "Gate": compares the step's (or phase's) outcomes and health, as kept on its steps, with the phase's
 * success criteria. A failed gate pauses the release, awaiting a decision; a halted release reports `halted` instead.
 */
export const handler = taskHandler(input, async ({ release, phase, step }) => {
  const { config } = releaseConfig();
  const criteria = config.release.phases.find((candidate) => candidate.name === phase)?.successCriteria;
  if (!criteria) throw new InvalidTaskInputError(`Unknown phase "${phase}"`);
  const record = await requireRelease(release);
  const hold = holdOf(record);
  if (hold.kind !== 'none') return { passed: false, halted: true, reason: hold.reason };

  const stepKeys = step
    ? [step]
    : (rolloutShape(config)
        .find((candidate) => candidate.name === phase)
        ?.steps.map((candidate) => candidate.key) ?? []);
  // Outcomes and health come from the steps' own items, kept exact as outcomes and reports arrive.
  const steps = await Promise.all(stepKeys.map((key) => getStep(release, key)));
  const decision = evaluateGate(
    {
      deployed: steps.reduce((sum, counter) => sum + (counter?.deployed ?? 0), 0),
      // Failures an operator already accepted (resuming after their gate) do not fail a later gate.
      failed: steps.reduce(
        (sum, counter) => sum + Math.max(0, (counter?.failed ?? 0) - (counter?.acceptedFailed ?? 0)),
        0,
      ),
    },
    // So does health an operator already accepted: a later gate judges only what arrived since.
    combineHealth(steps.map((each) => healthSince(healthOf(each), each?.acceptedHealth))),
    criteria,
  );
  // A step whose wait ended before every customer had an outcome cannot pass: missing data is no evidence.
  const missing = steps.reduce(
    (sum, counter) => sum + Math.max(0, (counter?.total ?? 0) - (counter?.recorded ?? 0)),
    0,
  );
  if (missing > 0) {
    decision.passed = false;
    decision.reasons.unshift(`${missing} customer(s) have no outcome yet`);
  }
  // Every affected customer goes to the store; the execution's state (`$.gate`, at most 256 KiB) gets a
  // bounded summary whatever the number of customers.
  const what = `gate#${step ?? phase}`;
  await audit(release, now(), what, gateAuditRecord(decision));
  const summary = summarizeGate(decision);
  countMetric(summary.passed ? 'GatesPassed' : 'GatesFailed');
  logger.info(summary.passed ? 'Gate passed' : 'Gate failed', {
    gate: step ?? phase,
    ...(summary.passed ? {} : { reason: summary.reason }),
  });
  if (!summary.passed)
    await pauseForFailedGate(release, {
      what,
      steps: stepKeys,
      reason: `gate ${step ?? phase} failed: ${summary.reason}`,
    });
  return { ...summary, halted: false };
});
