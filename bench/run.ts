import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundledConfig } from '../lambdas/core/config.js';
import { planRelease } from '../lambdas/core/plan.js';
import { scheduleOf } from '../lambdas/core/rollout-shape.js';
import type { RehearsalOutcome } from '../local/rehearsal.js';
import { sampleFleet } from '../local/sample-fleet.js';
import { projectRelease } from '../statemachines/history-projection.js';
import {
  CUSTOMER_STATE_MACHINE,
  definitionOf,
  RELEASE_STATE_MACHINE,
  synthesizeApp,
} from '../test/infra/support/synth.js';
import { generatedFleet } from './fleet.js';

// Plan time, schedule size and the projected Step Functions footprint of one release per fleet size.
const FLEET_SIZES = [1_000, 10_000, 100_000];
const NOTICES_PER_RUN = Number(process.env.NOTICES_PER_RUN ?? 200);
const START = '2027-03-01T09:00:00Z';

const { release } = synthesizeApp({ bundle: false });
const releaseDefinition = definitionOf(release, RELEASE_STATE_MACHINE);
const customerDefinition = definitionOf(release, CUSTOMER_STATE_MACHINE);
const config = bundledConfig();
const sample = sampleFleet(config.policies);

const rows = FLEET_SIZES.map((customers) => {
  const fleet = generatedFleet(sample, customers);
  const started = performance.now();
  const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt: START });
  const planMs = performance.now() - started;
  const schedule = scheduleOf(plan, config);
  const projection = projectRelease({
    customers,
    noticesPerRun: NOTICES_PER_RUN,
    releaseDefinition,
    customerDefinition,
  });
  return {
    customers,
    'plan (ms)': Math.round(planMs),
    'schedule (bytes)': Buffer.byteLength(JSON.stringify(schedule)),
    'release events': projection.releaseExecutionEvents,
    'customer events': projection.maxCustomerExecutionEvents,
    'child executions': projection.childExecutions,
    transitions: projection.transitions,
    'cost (USD)': projection.costUsd.toFixed(2),
  };
});

console.log(
  `One release, worst case (all notices due at one checkpoint, ${NOTICES_PER_RUN} per run; every customer on the approval path):`,
);
console.table(rows);

// The local rehearsal, measured end to end in a process of its own (wall time includes start-up).
const rehearsalRows = [
  { fleet: 'sample (44)', args: [] as string[] },
  { fleet: 'generated 1,000', args: ['--fleet', writeGeneratedFleet(1_000)] },
].map(({ fleet, args }) => {
  const started = performance.now();
  const run = spawnSync(
    'node_modules/.bin/tsx',
    ['bin/rehearse.ts', '--day', '0', '--auto-approve', '--json', '--start', START, ...args],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const wallSeconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`rehearsal of ${fleet} failed: ${run.stderr}`);
  const outcome = JSON.parse(run.stdout) as RehearsalOutcome;
  return {
    fleet,
    'wall (s)': wallSeconds.toFixed(1),
    'peak memory (MiB)': outcome.peakMemoryMiB,
    executions: outcome.executions,
    'largest history (events)': outcome.maxHistoryEvents.events,
    transitions: outcome.transitions,
    emails: Object.values(outcome.emails).reduce((sum, count) => sum + count, 0),
  };
});
console.log('\nLocal rehearsal, `npm start -- --day 0 --auto-approve`:');
console.table(rehearsalRows);

function writeGeneratedFleet(size: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'securewatch-fleet-')), `fleet-${size}.json`);
  writeFileSync(file, JSON.stringify(generatedFleet(sample, size)));
  return file;
}
