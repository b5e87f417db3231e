import { z } from 'zod';
import { planRelease } from '../core/plan.js';
import { type ReleaseSchedule, scheduleOf, stepKeyOf } from '../core/rollout-shape.js';
import { assertMinorRelease } from '../core/versions.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import {
  createRelease,
  getRelease,
  putCustomerIfAbsent,
  putStepIfAbsent,
  setReleaseStatus,
} from '../store/release-store.js';

const input = z.strictObject({
  version: z.string(),
  startAt: z.iso.datetime({ offset: true }),
});

const WRITE_CONCURRENCY = 25;

/** "Plan release": computes the plan from the bundled policies and fleet and records it, once. */
export const handler = taskHandler(input, async ({ version, startAt }): Promise<ReleaseSchedule> => {
  const { config, fleet } = releaseConfig();
  const existing = await getRelease(version);
  if (existing && existing.status !== 'planning') return existing.schedule;
  try {
    assertMinorRelease(version, fleet);
  } catch (error) {
    throw new InvalidTaskInputError((error as Error).message);
  }
  const plan = planRelease({ version, config, fleet, startAt });
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
      records.slice(start, start + WRITE_CONCURRENCY).map((record) => putCustomerIfAbsent(version, record)),
    );
  }
  for (const [key, step] of Object.entries(schedule.steps))
    await putStepIfAbsent(version, key, step.customers);
  await setReleaseStatus(version, 'running');
  await publish([
    {
      detailType: DETAIL_TYPES.releaseStarted,
      detail: { schemaVersion: SCHEMA_VERSION, release: version, at: startAt },
    },
  ]);
  return schedule;
});
