import { performance } from 'node:perf_hooks';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { importFleet } from '../lambdas/application/fleet.js';
import { planAndRecordRelease } from '../lambdas/application/plan.js';
import { releaseStatus } from '../lambdas/application/status.js';
import { bundledConfig } from '../lambdas/core/config.js';
import { dynamo } from '../lambdas/shared/clients.js';
import { sampleFleet } from '../local/sample-fleet.js';
import { startReleaseTable } from '../test/local/support/release-table.js';
import { generatedFleet } from './fleet.js';

// `check-status` against fleets of growing size, on dynalite: the store requests it makes and its wall
// time. The requests must not grow with the fleet (the status reads the release, its steps, their gates,
// the pending approvals and the fleet's revision; never a customer).

const sizes = (process.argv[2] ?? '44,1000,10000').split(',').map(Number);
mockClient(EventBridgeClient).on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });

for (const [index, size] of sizes.entries()) {
  const database = await startReleaseTable({ EVENT_BUS_NAME: 'securewatch-releases' });
  const version = `v1.${index + 1}.0`;
  const fleet = generatedFleet(sampleFleet(bundledConfig().policies), size);
  await importFleet({ json: fleet, label: `${size} customers` }, 'bench');
  const planStarted = performance.now();
  await planAndRecordRelease(version, '2027-03-01T09:00:00Z');
  const planSeconds = (performance.now() - planStarted) / 1000;

  let requests = 0;
  const client = dynamo();
  const send = client.send.bind(client);
  client.send = ((...args: Parameters<typeof send>) => {
    requests++;
    return send(...args);
  }) as typeof client.send;
  const timings: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    await releaseStatus(version);
    timings.push(performance.now() - started);
  }
  client.send = send;
  timings.sort((a, b) => a - b);
  console.log(
    `${size.toLocaleString('en')} customers: check-status ${requests / 5} store requests, ${timings[0]?.toFixed(0)}–${timings.at(-1)?.toFixed(0)} ms (median ${timings[2]?.toFixed(0)} ms); planning ${planSeconds.toFixed(1)} s`,
  );
  await database.stop();
}
process.exit(0);
