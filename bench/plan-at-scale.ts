import { performance } from 'node:perf_hooks';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { liveFleet, openRelease, recordPlanInChunks, writePlanChunk } from '../lambdas/application/plan.js';
import { bundledConfig } from '../lambdas/core/config.js';
import { CHUNK_CONCURRENCY } from '../lambdas/core/plan-chunks.js';
import { bumpFleetRevision, getFleetRevision } from '../lambdas/store/fleet.js';
import { putAll } from '../lambdas/store/plan-chunks.js';
import { sampleFleet } from '../local/sample-fleet.js';
import { startReleaseTable } from '../test/local/support/release-table.js';
import { generatedFleet } from './fleet.js';

// Planning and writing the plan at fleet scale, on dynalite, as the release execution runs it: the "Plan
// release" invocation (reads the fleet, plans, records the release, its steps and the plan chunks), the
// "Write plan" Map (chunks CHUNK_CONCURRENCY at a time) and "Open release". The CPU times are this
// process's, dynalite's share included (it runs in-process): an upper bound of the Lambda's own.

export interface PlanAtScale {
  customers: number;
  /** Wall time of the "Plan release" invocation. */
  planMs: number;
  chunks: number;
  /** CPU of the largest single invocation: planning, or one chunk written alone (the first, a full one). */
  largestChunkCpuMs: number;
  planCpuMs: number;
  chunkCpuMs: number;
  /** Wall time of the "Write plan" Map and "Open release". */
  writeMs: number;
  /** Planning and writing, from the first invocation to the release running. */
  wallMs: number;
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** Plans `customers` generated customers on a fresh dynalite table and writes the plan; the fleet import is not timed. */
export async function planAtScale(customers: number, version = 'v1.1.0'): Promise<PlanAtScale> {
  mockClient(EventBridgeClient).on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  const database = await startReleaseTable({ EVENT_BUS_NAME: 'securewatch-releases' });
  try {
    await seedFleet(customers);

    const started = performance.now();
    const planCpu = process.cpuUsage();
    const { chunks } = await recordPlanInChunks(version, '2027-03-01T09:00:00Z');
    const planCpuMs = cpuMs(planCpu);
    const planned = performance.now();

    const [first, ...others] = chunks;
    const chunkCpu = process.cpuUsage();
    if (first !== undefined) await writePlanChunk(version, first);
    const chunkCpuMs = cpuMs(chunkCpu);
    const pending = [...others];
    const writer = async () => {
      for (let chunk = pending.shift(); chunk !== undefined; chunk = pending.shift())
        await writePlanChunk(version, chunk);
    };
    await Promise.all(Array.from({ length: CHUNK_CONCURRENCY }, writer));
    await openRelease(version);
    const ended = performance.now();

    return {
      customers,
      planMs: Math.round(planned - started),
      chunks: chunks.length,
      largestChunkCpuMs: Math.round(Math.max(planCpuMs, chunkCpuMs)),
      planCpuMs: Math.round(planCpuMs),
      chunkCpuMs: Math.round(chunkCpuMs),
      writeMs: Math.round(ended - planned),
      wallMs: Math.round(ended - started),
    };
  } finally {
    await database.stop();
  }
}

/**
 * The fleet as `customers import` leaves it (lambdas/store/fleet.ts's items), in batches: importing 100,000
 * customers one conditional write at a time would take longer than what is measured.
 */
async function seedFleet(customers: number): Promise<void> {
  const at = new Date().toISOString();
  const fleet = generatedFleet(sampleFleet(bundledConfig().policies), customers).customers;
  await putAll(
    fleet.map((customer) => ({
      PK: 'FLEET',
      SK: `CUSTOMER#${customer.id}`,
      ...customer,
      updatedAt: at,
      updatedBy: 'bench',
      itemRevision: 1,
    })),
  );
  await bumpFleetRevision({ added: customers, at, by: 'bench' });
  const { customers: seeded } = await getFleetRevision();
  if ((await liveFleet()).customers.length !== seeded)
    throw new Error(
      'the bench seeds the fleet as lambdas/store/fleet.ts stored it; it stores it otherwise now',
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = (process.argv[2] ?? '10000,100000').split(',').map(Number);
  for (const size of sizes) console.log(JSON.stringify(await planAtScale(size)));
  process.exit(0);
}
