import { bundledConfig } from '../core/config.js';
import { UserFacingError } from '../core/errors.js';
import type { Config, Fleet } from '../core/model.js';
import { customersToTakeOver, withoutDowngrades } from '../core/overlap.js';
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
import { oncePerRelease } from '../shared/once.js';
import { putCustomerIfAbsent } from '../store/customers.js';
import { customerOf, fleetCustomers, getFleetRevision } from '../store/fleet.js';
import { createRelease, getRelease, moveRelease } from '../store/releases.js';
import { putStepIfAbsent, putStepMember } from '../store/steps.js';
import { takeOverCustomers } from './overlap.js';
import { configOf } from './release-config.js';

const WRITE_CONCURRENCY = 25;

/** The fleet as the table holds it now (none imported yet: no customers). */
export async function liveFleet(): Promise<Fleet> {
  const customers = [];
  for await (const record of fleetCustomers()) customers.push(customerOf(record));
  return { customers };
}

/** The fleet as the table holds it now, or a UserFacingError naming the import when it is empty. */
export async function currentFleet(): Promise<Fleet> {
  const fleet = await liveFleet();
  if (fleet.customers.length === 0)
    throw new UserFacingError('the fleet is empty: import it first with `customers import FILE`');
  return fleet;
}

/**
 * Plans the release from the fleet in the table and the policies deployed now, and records the plan with
 * its snapshot (the policies, the fleet revision, every customer's plan entry), once: a repeated run
 * returns the recorded schedule. Then announces the start, once. A fleet or version the plan refuses is a
 * UserFacingError, with nothing recorded.
 */
export async function planAndRecordRelease(version: string, startAt: string): Promise<ReleaseSchedule> {
  const existing = await getRelease(version);
  const schedule =
    existing?.status === 'planning' || !existing
      ? await recordPlan(
          version,
          existing?.schedule.startAt ?? startAt,
          existing ? await configOf(existing) : bundledConfig(),
        )
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
}

/** Writes the release, its steps and every customer's plan entry; a repeated run rewrites nothing. */
async function recordPlan(version: string, startAt: string, config: Config): Promise<ReleaseSchedule> {
  // The revision first: an import between the two reads makes the release look older than it is, never newer.
  const { revision } = await getFleetRevision();
  const fleet = await currentFleet();
  // Never a downgrade: a customer already on this version or a newer one is not planned.
  const { toPlan } = withoutDowngrades(version, fleet.customers);
  const plan = planRelease({ version, config, fleet: { ...fleet, customers: toPlan }, startAt });
  const schedule = scheduleOf(plan, config);
  await createRelease(schedule, { config, fleetRevision: revision });

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
  // A newer release takes over the customers an older running release has not asked anything of yet.
  await takeOverCustomers(version, customersToTakeOver(records), 'plan-release');
  await moveRelease(version, ['planning'], 'running');
  return schedule;
}
