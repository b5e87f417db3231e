import { z } from 'zod';
import { evaluateGate, gateAuditRecord, type HealthSample, summarizeGate } from '../core/gates.js';
import { rolloutShape } from '../core/rollout-shape.js';
import { now } from '../shared/clock.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { audit, getStep, listHealthReports, listStepCustomers } from '../store/release-store.js';

const input = z.strictObject({
  release: z.string(),
  phase: z.string(),
  /** A step key gates one batch; without it the whole phase is gated. */
  step: z.string().optional(),
});

/** "Gate": compares the step's (or phase's) outcomes and health reports with the phase's success criteria. */
export const handler = taskHandler(input, async ({ release, phase, step }) => {
  const { config } = releaseConfig();
  const criteria = config.release.phases.find((candidate) => candidate.name === phase)?.successCriteria;
  if (!criteria) throw new InvalidTaskInputError(`Unknown phase "${phase}"`);
  const stepKeys = step
    ? [step]
    : (rolloutShape(config)
        .find((candidate) => candidate.name === phase)
        ?.steps.map((candidate) => candidate.key) ?? []);
  // Outcomes come from the steps' own counters, kept exact as outcomes are recorded.
  const counters = await Promise.all(stepKeys.map((key) => getStep(release, key)));
  const members = new Set(
    (await Promise.all(stepKeys.map((key) => listStepCustomers(release, key))))
      .flat()
      .map((customer) => customer.id),
  );
  const health = (await listHealthReports(release)).filter((report) =>
    members.has(String(report.customerId)),
  );
  const decision = evaluateGate(
    {
      deployed: counters.reduce((sum, counter) => sum + (counter?.deployed ?? 0), 0),
      failed: counters.reduce((sum, counter) => sum + (counter?.failed ?? 0), 0),
    },
    health as unknown as HealthSample[],
    criteria,
  );
  // Every affected customer goes to the store; the execution's state (`$.gate`, at most 256 KiB) gets a
  // bounded summary whatever the number of customers.
  await audit(release, now(), `gate#${step ?? phase}`, gateAuditRecord(decision));
  return summarizeGate(decision);
});
