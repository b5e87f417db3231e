import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { liveFleet, openRelease, recordPlanInChunks, writePlanChunk } from '../lambdas/application/plan.js';
import { bundledConfig } from '../lambdas/core/config.js';
import type { Fleet } from '../lambdas/core/model.js';
import { CHUNK_CONCURRENCY } from '../lambdas/core/plan-chunks.js';
import { bumpFleetRevision, fleetCustomerKey, getFleetRevision } from '../lambdas/store/fleet.js';
import { putAll } from '../lambdas/store/plan-chunks.js';
import { sampleFleet } from '../local/sample-fleet.js';
import { useReleaseTableAt } from '../test/local/support/release-table.js';
import { generatedFleet } from './fleet.js';

// Planning and writing the plan at fleet scale, on dynalite, as the release execution runs it: the "Plan
// release" invocation (reads the fleet, plans, records the release, its steps and the plan chunks), the
// "Write plan" Map (chunks CHUNK_CONCURRENCY at a time) and "Open release". dynalite runs in a process of its
// own, as DynamoDB is not in the Lambda: the CPU times are the functions' own (this process's).

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
export async function planAtScale(fleet: Fleet, version = 'v1.1.0'): Promise<PlanAtScale> {
  const customers = fleet.customers.length;
  mockClient(EventBridgeClient).on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  const database = await startSeparateTable();
  try {
    await seedFleet(fleet);

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

/** The release table on a dynalite in a child process, with the store's clients pointed at it. */
async function startSeparateTable(): Promise<{ stop(): Promise<void> }> {
  const server = spawn(
    process.execPath,
    [
      '-e',
      "const s = require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }); s.listen(0, '127.0.0.1', () => console.log(s.address().port));",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [port] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
  const endpoint = `http://127.0.0.1:${port}`;
  await useReleaseTableAt(endpoint, { EVENT_BUS_NAME: 'securewatch-releases' });
  return {
    async stop() {
      server.kill();
      await once(server, 'exit');
    },
  };
}

/**
 * The fleet as `customers import` leaves it (lambdas/store/fleet.ts's items), in batches: importing 100,000
 * customers one conditional write at a time would take longer than what is measured.
 */
async function seedFleet(fleet: Fleet): Promise<void> {
  const at = new Date().toISOString();
  const customers = fleet.customers.length;
  await putAll(
    fleet.customers.map((customer) => ({
      ...fleetCustomerKey(customer.id),
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
  for (const size of sizes)
    console.log(
      JSON.stringify(await planAtScale(generatedFleet(sampleFleet(bundledConfig().policies), size))),
    );
  process.exit(0);
}
