import { z } from 'zod';
import { takeOverCustomers } from '../application/overlap.js';
import { UserFacingError } from '../core/errors.js';
import { customersToTakeOver } from '../core/overlap.js';
import { planRelease } from '../core/plan.js';
import {
  type ReleaseSchedule,
  rolloutShape,
  scheduleOf,
  stepKeyOf,
  stepWaitUntil,
} from '../core/rollout-shape.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { oncePerRelease } from '../shared/once.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { putCustomerIfAbsent } from '../store/customers.js';
import { createRelease, getRelease, moveRelease } from '../store/releases.js';
import { putStepIfAbsent, putStepMember } from '../store/steps.js';

const input = z.strictObject({
  version: z.string(),
  startAt: z.iso.datetime({ offset: true }),
});

const WRITE_CONCURRENCY = 25;

/** "Plan release": computes the plan from the bundled policies and fleet and records it, once. */
export const handler = taskHandler(input, async ({ version, startAt }): Promise<ReleaseSchedule> => {
  const existing = await getRelease(version);
  const schedule =
    existing?.status === 'planning' || !existing
      ? await recordPlan(version, existing?.schedule.startAt ?? startAt)
      : existing.schedule;
  await oncePerRelease(version, 'startPublishedAt', () =>
    publish([
      {
        detailType: DETAIL_TYPES.releaseStarted,
        detail: { schemaVersion: SCHEMA_VERSION, release: version, at: schedule.startAt },
      },
    ]),
  );
  return schedule;
});

/** Writes the release, its steps and every customer's plan entry; a repeated run rewrites nothing. */
async function recordPlan(version: string, startAt: string): Promise<ReleaseSchedule> {
  const { config, fleet } = releaseConfig();
  let plan: ReturnType<typeof planRelease>;
  try {
    plan = planRelease({ version, config, fleet, startAt });
  } catch (error) {
    if (error instanceof UserFacingError) throw new InvalidTaskInputError(error.message);
    throw error;
  }
  const schedule = scheduleOf(plan, config);
  await createRelease(schedule);

  const customersById = new Map(fleet.customers.map((customer) => [customer.id, customer]));
  const records = plan.customers.map((planned) => {
    const customer = customersById.get(planned.id);
    if (!customer) throw new Error(`Planned customer ${planned.id} is not in the fleet`);
    return {
      ...planned,
      stepKey: stepKeyOf(planned, config),
      window: customer.maintenanceWindow,
      contacts: customer.contacts,
      approvers: customer.approvers,
    };
  });
  for (let start = 0; start < records.length; start += WRITE_CONCURRENCY) {
    await Promise.all(
      records.slice(start, start + WRITE_CONCURRENCY).map(async (record) => {
        await putCustomerIfAbsent(version, record, now());
        await putStepMember(version, record.stepKey, record);
      }),
    );
  }
  const oneAtATime = new Set(
    rolloutShape(config).flatMap((phase) =>
      phase.steps.filter((step) => step.individual).map((step) => step.key),
    ),
  );
  const deadlinesByStep = new Map<string, string[]>();
  for (const record of records) {
    const deadlines = deadlinesByStep.get(record.stepKey);
    if (deadlines) deadlines.push(record.deadlineAt);
    else deadlinesByStep.set(record.stepKey, [record.deadlineAt]);
  }
  for (const [key, step] of Object.entries(schedule.steps)) {
    const deadlines = deadlinesByStep.get(key) ?? [];
    await putStepIfAbsent(version, key, {
      total: step.customers,
      oneAtATime: oneAtATime.has(key),
      waitUntil: stepWaitUntil(step.opensAt, deadlines),
    });
  }
  await takeOverCustomers(version, customersToTakeOver(records), 'plan-release');
  await moveRelease(version, ['planning'], 'running');
  return schedule;
}
