import { performance } from 'node:perf_hooks';
import { bundledConfig, bundledFleet } from '../lambdas/core/config.js';
import { planRelease } from '../lambdas/core/plan.js';
import { scheduleOf } from '../lambdas/core/rollout-shape.js';
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
const sample = bundledFleet(config.policies);

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
