import { z } from 'zod';
import { evaluateGate, type HealthSample } from '../core/gates.js';
import { now } from '../shared/clock.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { audit, listCustomers, listHealthReports } from '../store/release-store.js';

const input = z.strictObject({
  release: z.string(),
  phase: z.string(),
  /** A step key gates one batch; without it the whole phase is gated. */
  step: z.string().optional(),
});

/** "Gate": compares the step's (or phase's) outcomes and health reports with the phase's success criteria. */
export const handler = taskHandler(input, async ({ release, phase, step }) => {
  const criteria = releaseConfig().config.release.phases.find(
    (candidate) => candidate.name === phase,
  )?.successCriteria;
  if (!criteria) throw new InvalidTaskInputError(`Unknown phase "${phase}"`);
  const customers = (await listCustomers(release)).filter((customer) =>
    step ? customer.stepKey === step : customer.phase === phase,
  );
  const ids = new Set(customers.map((customer) => customer.id));
  const health = (await listHealthReports(release)).filter((report) => ids.has(String(report.customerId)));
  const decision = evaluateGate(
    {
      deployed: customers.filter((customer) => customer.outcome === 'deployed').length,
      failed: customers.filter((customer) => customer.outcome === 'failed').length,
    },
    health as unknown as HealthSample[],
    criteria,
  );
  await audit(release, now(), `gate#${step ?? phase}`, { ...decision });
  return { ...decision, reason: decision.reasons.join('; ') };
});
