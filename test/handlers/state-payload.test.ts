import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedFleet } from '../../bench/fleet.js';
import { importFleet } from '../../lambdas/application/fleet.js';
import { decisionOutput } from '../../lambdas/application/halt.js';
import { stepSummary } from '../../lambdas/application/outcomes.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { handler as completeRelease } from '../../lambdas/handlers/complete-release.js';
import { handler as evaluateGate } from '../../lambdas/handlers/evaluate-gate.js';
import { handler as openRelease } from '../../lambdas/handlers/open-release.js';
import { handler as planRelease } from '../../lambdas/handlers/plan-release.js';
import { handler as recordHealthReport } from '../../lambdas/handlers/record-health-report.js';
import { handler as sendNotices } from '../../lambdas/handlers/send-notices.js';
import { handler as startCustomerRollouts } from '../../lambdas/handlers/start-customer-rollouts.js';
import { handler as writePlanChunk } from '../../lambdas/handlers/write-plan-chunk.js';
import { updateCustomer } from '../../lambdas/store/customers.js';
import { getRelease } from '../../lambdas/store/releases.js';
import { getStep } from '../../lambdas/store/steps.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import type { AslDefinition } from '../../statemachines/history-projection.js';
import { definitionOf, RELEASE_STATE_MACHINE, synthesizeApp } from '../infra/support/synth.js';
import { snapshotTable } from './support/fake-table.js';
import { busEvent } from './support/when.js';
import { givenTheTimeIs, resetWorld, restoreRealClock, startedExecutions } from './support/world.js';

// Step Functions caps an execution's state at 256 KiB and fails it with States.DataLimitExceeded, which no
// Catch sees. The release execution's state is the input plus every task's result at its ResultPath: each
// is produced here by the real task on a generated fleet of 10,000 customers, at its largest (every
// customer unhealthy, every notice due), and the whole must stay under 64 KiB.

const CUSTOMERS = 10_000;
const LIMIT = 64 * 1024;
const VERSION = 'v1.1.0';
const START_AT = '2027-03-01T09:00:00Z';
const CUSTOMER_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:111111111111:stateMachine:customer';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Every ResultPath the release state machine's tasks write to. */
function resultPathsOf(definition: AslDefinition): Set<string> {
  const paths = new Set<string>();
  for (const state of Object.values(definition.States) as { Type: string; ResultPath?: string | null }[])
    if ((state.Type === 'Task' || state.Type === 'Pass') && typeof state.ResultPath === 'string')
      paths.add(state.ResultPath);
  return paths;
}

describe(`the release execution's state for a fleet of ${CUSTOMERS.toLocaleString('en')} customers`, () => {
  const results = new Map<string, unknown>();
  const mapItems: unknown[] = [];
  let stepCustomers = 0;

  beforeAll(async () => {
    resetWorld();
    const config = bundledConfig();
    await importFleet(
      { json: generatedFleet(sampleFleet(config.policies), CUSTOMERS), label: 'generated fleet' },
      'test',
    );
    givenTheTimeIs(START_AT);

    const planned = await planRelease({ version: VERSION, startAt: START_AT });
    results.set('$.plan', planned);
    for (const chunk of planned.chunks) await writePlanChunk({ release: VERSION, chunk });
    results.set('$.schedule', await openRelease({ release: VERSION }));
    const record = await getRelease(VERSION);
    const [largestStep] = Object.entries(record?.schedule.steps ?? {}).sort(
      ([, a], [, b]) => b.customers - a.customers,
    );
    const [stepKey = '', step] = largestStep ?? [];
    givenTheTimeIs(step?.opensAt ?? START_AT);
    results.set('$.notices', await sendNotices({ release: VERSION, asOf: step?.opensAt ?? START_AT }));
    const started = await startCustomerRollouts({
      release: VERSION,
      step: stepKey,
      customerStateMachineArn: CUSTOMER_STATE_MACHINE_ARN,
    });
    results.set('$.started', started);
    // The Map starts the step's other chunks, each from an item of its own.
    for (const chunk of 'moreChunks' in started ? started.moreChunks : []) {
      const item = {
        release: VERSION,
        step: stepKey,
        customerStateMachineArn: CUSTOMER_STATE_MACHINE_ARN,
        chunk,
      };
      mapItems.push(item);
      await startCustomerRollouts(item);
    }
    stepCustomers = step?.customers ?? 0;
    const counters = await getStep(VERSION, stepKey);
    results.set('$.lastStep', { halted: false, ...(counters ? stepSummary(counters) : {}) });
    for (const execution of startedExecutions()) {
      const { customerId } = JSON.parse(execution.input) as { customerId: string };
      // A report counts once the customer's deployment was requested.
      await updateCustomer(VERSION, customerId, { deploymentRequestedAt: step?.opensAt ?? START_AT });
      await recordHealthReport(
        busEvent('Health Reported', {
          schemaVersion: '1',
          customerId,
          version: VERSION,
          reportedAt: step?.opensAt ?? START_AT,
          errorRatePercent: 100,
          latencyChangePercent: 400,
          criticalErrors: 3,
          securityFindings: 2,
          supportTickets: 9,
        }) as never,
      );
    }
    const phase = stepKey.replace(/_\d+$/, '');
    results.set('$.gate', await evaluateGate({ release: VERSION, phase, step: stepKey }));
    const paused = await getRelease(VERSION);
    if (paused)
      results.set('$.decision', await decisionOutput(paused, 'resume', { by: 'oncall', reason: 'ok' }));
    results.set('$.failure', { Error: 'Transient', Cause: 'x'.repeat(32_768) });
    results.set('$.report', await completeRelease({ release: VERSION }));
  }, 300_000);

  afterAll(() => {
    restoreRealClock();
  });

  // The synth alone takes about a minute on a loaded 2-core machine.
  it('has every result path of the state machine produced by its task', { timeout: 300_000 }, () => {
    const definition = definitionOf(synthesizeApp({ bundle: false }).release, RELEASE_STATE_MACHINE);

    expect([...resultPathsOf(definition)].filter((path) => !results.has(path))).toEqual([]);
  });

  it('stays under 64 KiB with every result in it at once, the failure cause at its 32 KiB maximum', () => {
    const state = { version: VERSION, startAt: START_AT, ...Object.fromEntries(results) };

    expect(results.get('$.gate')).toMatchObject({ passed: false, moreCustomers: expect.any(Number) });
    expect(bytes(state)).toBeLessThan(LIMIT);
  });

  it('starts every customer execution with an input that does not grow with the fleet', () => {
    const largest = Math.max(...startedExecutions().map((execution) => Buffer.byteLength(execution.input)));

    expect(startedExecutions().length).toBeGreaterThan(CUSTOMERS / 10);
    expect(largest).toBeLessThan(1024);
  });

  it('starts every customer of the largest step, its first chunk by the step task, the others by Map items', () => {
    expect(startedExecutions()).toHaveLength(stepCustomers);
    expect(mapItems.length).toBeGreaterThan(1);
    expect(Math.max(...mapItems.map(bytes))).toBeLessThan(512);
  });

  it("plans in chunks named by number, each chunk item far below DynamoDB's 400 KB", () => {
    const chunkItems = snapshotTable().filter((item) => String(item.PK).includes('#PLAN-CHUNK#'));
    const largest = Math.max(...chunkItems.map((item) => (item.entries as Uint8Array).byteLength));

    expect(results.get('$.plan')).toEqual({ chunks: [...Array(10).keys()], customers: CUSTOMERS });
    expect(chunkItems).toHaveLength(10);
    expect(largest).toBeLessThan(200 * 1024);
  });
});
