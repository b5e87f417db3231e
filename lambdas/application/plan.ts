import { bundledConfig } from '../core/config.js';
import { UserFacingError } from '../core/errors.js';
import type { Config, Fleet } from '../core/model.js';
import { customersToTakeOver, withoutDowngrades } from '../core/overlap.js';
import { planRelease } from '../core/plan.js';
import {
  boundedChunksOf,
  chunkNumbers,
  PLAN_CHUNK_CUSTOMERS,
  PLAN_CHUNK_MAX_BYTES,
  rolloutChunksOf,
} from '../core/plan-chunks.js';
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
import { ReleaseStateError } from '../shared/errors.js';
import { oncePerRelease } from '../shared/once.js';
import { type PlannedCustomerRecord, plannedCustomerItem } from '../store/customers.js';
import { customerOf, fleetCustomers, getFleetRevision } from '../store/fleet.js';
import {
  claimPlanChunkWrite,
  getPlanChunk,
  getPlanManifest,
  markPlanChunkWritten,
  planChunkBytes,
  putAbsent,
  putAll,
  putPlanChunk,
  putPlanManifest,
  putRolloutChunks,
} from '../store/plan-chunks.js';
import { createRelease, getRelease, moveRelease } from '../store/releases.js';
import { putStepIfAbsent, stepMemberItem } from '../store/steps.js';
import { takeOverCustomers } from './overlap.js';
import { configOf } from './release-config.js';

/** The fleet as the table holds it now, in id order (none imported yet: no customers). */
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

/** A release's plan as recorded: the chunks still to write (their numbers) and how many customers. */
export interface RecordedPlan {
  chunks: number[];
  customers: number;
}

/**
 * Plans the release and records the plan with its snapshot (the policies, the fleet revision, every
 * customer's plan entry), once, then announces the start, once: a repeated run returns the recorded
 * schedule. A fleet or version the plan refuses is a UserFacingError, with nothing recorded. The release
 * execution runs the same three parts as tasks of their own, the chunks in parallel.
 */
export async function planAndRecordRelease(version: string, startAt: string): Promise<ReleaseSchedule> {
  const { chunks } = await recordPlanInChunks(version, startAt);
  for (const chunk of chunks) await writePlanChunk(version, chunk);
  return openRelease(version);
}

/**
 * Plans the release from the fleet in the table and the policies deployed now, and records the release
 * (in `planning`), its steps and the plan in chunks of customers, once: a repeated run plans nothing again
 * and returns the same chunks. A release past planning has no chunk left to write.
 */
export async function recordPlanInChunks(version: string, startAt: string): Promise<RecordedPlan> {
  const existing = await getRelease(version);
  if (existing && existing.status !== 'planning') return { chunks: [], customers: 0 };
  const recorded = existing ? await getPlanManifest(version) : undefined;
  if (recorded) return { chunks: chunkNumbers(recorded.chunks), customers: recorded.customers };
  return recordPlan(
    version,
    existing?.schedule.startAt ?? startAt,
    existing ? await configOf(existing) : bundledConfig(),
  );
}

/** Writes a chunk's customers and step members, those not written yet: a repeated chunk rewrites nothing. */
export async function writePlanChunk(
  version: string,
  chunk: number,
): Promise<{ customers: number; written: number }> {
  const stored = await getPlanChunk(version, chunk);
  if (!stored) throw new ReleaseStateError(`Release ${version} has no plan chunk ${chunk}`);
  if (stored.writtenAt) return { customers: stored.entries.length, written: 0 };
  const items = stored.entries.flatMap((record) => [
    plannedCustomerItem(version, record, stored.plannedAt),
    stepMemberItem(version, record.stepKey, record),
  ]);
  // The first run of a chunk finds nothing of it in the table; a later one writes only what is missing.
  const written = (await claimPlanChunkWrite(version, chunk, now()))
    ? await putAll(items)
    : await putAbsent(items);
  await markPlanChunkWritten(version, chunk, now());
  return { customers: stored.entries.length, written };
}

/**
 * Once every chunk is written: a newer release takes over the customers an older running release has not
 * asked anything of yet, the release runs, and its start is announced, each once. Returns its schedule.
 */
export async function openRelease(version: string): Promise<ReleaseSchedule> {
  const release = await getRelease(version);
  if (!release) throw new ReleaseStateError(`Release ${version} has not been planned`);
  if (release.status === 'planning') {
    await takeOverCustomers(version, () => plannedToDeploy(version), 'plan-release');
    await moveRelease(version, ['planning'], 'running');
  }
  await oncePerRelease(version, 'startPublishedAt', () =>
    publish([
      {
        detailType: DETAIL_TYPES.releaseStarted,
        detail: { schemaVersion: SCHEMA_VERSION, release: version, at: release.schedule.startAt },
      },
    ]),
  );
  return release.schedule;
}

/** The customers the release plans to deploy, from its plan chunks. */
async function plannedToDeploy(version: string): Promise<string[]> {
  const manifest = await getPlanManifest(version);
  const ids: string[] = [];
  for (const chunk of chunkNumbers(manifest?.chunks ?? 0)) {
    ids.push(...customersToTakeOver((await getPlanChunk(version, chunk))?.entries ?? []));
  }
  return ids;
}

/** Records the release, its steps (with their rollout chunks) and the plan in chunks; returns the chunks. */
async function recordPlan(version: string, startAt: string, config: Config): Promise<RecordedPlan> {
  // The revision first: an import between the two reads makes the release look older than it is, never newer.
  const { revision } = await getFleetRevision();
  const fleet = await currentFleet();
  // Never a downgrade: a customer already on this version or a newer one is not planned.
  const { toPlan } = withoutDowngrades(version, fleet.customers);
  const plan = planRelease({ version, config, fleet: { ...fleet, customers: toPlan }, startAt });
  const schedule = scheduleOf(plan, config);
  await createRelease(schedule, { config, fleetRevision: revision });

  const customersById = new Map(fleet.customers.map((customer) => [customer.id, customer]));
  const records: PlannedCustomerRecord[] = plan.customers.map((planned) => {
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
  const oneAtATime = new Set(
    rolloutShape(config).flatMap((phase) =>
      phase.steps.filter((step) => step.individual).map((step) => step.key),
    ),
  );
  const membersByStep = new Map<string, PlannedCustomerRecord[]>();
  for (const record of records) {
    const members = membersByStep.get(record.stepKey);
    if (members) members.push(record);
    else membersByStep.set(record.stepKey, [record]);
  }
  for (const [key, step] of Object.entries(schedule.steps)) {
    const members = membersByStep.get(key) ?? [];
    await putStepIfAbsent(version, key, {
      total: step.customers,
      oneAtATime: oneAtATime.has(key),
      waitUntil: stepWaitUntil(
        step.opensAt,
        members.map((member) => member.deadlineAt),
      ),
    });
    await putRolloutChunks(version, key, rolloutChunksOf(members.map((member) => member.id)));
  }
  const plannedAt = now();
  const chunks = boundedChunksOf(records, PLAN_CHUNK_CUSTOMERS, planChunkBytes, PLAN_CHUNK_MAX_BYTES);
  await Promise.all(chunks.map((entries, chunk) => putPlanChunk(version, { chunk, plannedAt, entries })));
  await putPlanManifest(version, { chunks: chunks.length, customers: records.length });
  return { chunks: chunkNumbers(chunks.length), customers: records.length };
}
