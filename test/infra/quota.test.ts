import { beforeAll, describe, expect, it } from 'vitest';
import { generatedFleet } from '../../bench/fleet.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { planRelease } from '../../lambdas/core/plan.js';
import { scheduleOf } from '../../lambdas/core/rollout-shape.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import {
  type AslDefinition,
  projectHistoryEvents,
  projectRelease,
  type ReleaseProjection,
} from '../../statemachines/history-projection.js';
import {
  CUSTOMER_STATE_MACHINE,
  definitionOf,
  RELEASE_STATE_MACHINE,
  synthesizeApp,
} from './support/synth.js';

/** The send-notices handler's default NOTICES_PER_RUN. */
const NOTICES_PER_RUN = 200;
const HISTORY_EVENT_QUOTA = 25_000;

describe('Step Functions quotas for a large fleet', () => {
  let releaseDefinition: AslDefinition;
  let customerDefinition: AslDefinition;
  const projectionFor = (customers: number): ReleaseProjection =>
    projectRelease({ customers, noticesPerRun: NOTICES_PER_RUN, releaseDefinition, customerDefinition });

  beforeAll(() => {
    const { release } = synthesizeApp({ bundle: false });
    releaseDefinition = definitionOf(release, RELEASE_STATE_MACHINE);
    customerDefinition = definitionOf(release, CUSTOMER_STATE_MACHINE);
  });

  it('keeps the release execution of 10,000 customers under 5,000 history events', () => {
    expect(projectionFor(10_000).releaseExecutionEvents).toBeLessThan(5_000);
  });

  it('keeps the release execution of 100,000 customers at half the 25,000-event quota at most', () => {
    expect(projectionFor(100_000).releaseExecutionEvents).toBeLessThanOrEqual(HISTORY_EVENT_QUOTA / 2);
  });

  it('counts the plan written in 100 chunks and the rollouts started in 200 at 100,000 customers', () => {
    const withoutMapItems = projectRelease({
      customers: 100_000,
      noticesPerRun: NOTICES_PER_RUN,
      planChunkCustomers: Number.POSITIVE_INFINITY,
      rolloutChunkCustomers: Number.POSITIVE_INFINITY,
      releaseDefinition,
      customerDefinition,
    });

    const withMapItems = projectionFor(100_000);

    // An item: MapIterationStarted, its one Lambda task (5), MapIterationSucceeded.
    expect(withMapItems.releaseExecutionEvents - withoutMapItems.releaseExecutionEvents).toBe(
      (100 + 200) * 7,
    );
  });

  it('keeps a customer execution on its longest path under 200 history events', () => {
    expect(projectionFor(10_000).maxCustomerExecutionEvents).toBeLessThan(200);
  });

  it('runs one child execution per customer', () => {
    expect(projectionFor(10_000).childExecutions).toBe(10_000);
  });

  it('keeps the schedule the release execution carries for 10,000 customers under 16 KiB', () => {
    const config = bundledConfig();
    const fleet = generatedFleet(sampleFleet(config.policies), 10_000);

    const schedule = scheduleOf(
      planRelease({ version: 'v1.1.0', config, fleet, startAt: '2027-03-01T09:00:00Z' }),
      config,
    );

    expect(JSON.stringify(schedule).length).toBeLessThan(16 * 1024);
  });
});

describe('the history projection', () => {
  const lambda = 'arn:aws:lambda:eu-west-1:123456789012:function:work';
  const definition: AslDefinition = {
    StartAt: 'Work',
    States: {
      Work: { Type: 'Task', Resource: lambda, Next: 'More?' },
      'More?': { Type: 'Choice', Choices: [{ Next: 'Work' }], Default: 'Approve' },
      Approve: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', Next: 'Pause' },
      Pause: { Type: 'Wait', Next: 'Done' },
      Done: { Type: 'Succeed' },
    },
  };

  it('counts 5 events per Lambda task, 6 per callback task, 2 per other state and 2 for the execution', () => {
    expect(projectHistoryEvents(definition)).toBe(5 + 2 + 6 + 2 + 2 + 2);
  });

  it('runs a loop’s body as many times as its Choice is told', () => {
    const once = projectHistoryEvents(definition, { loopIterations: { 'More?': 1 } });

    const thrice = projectHistoryEvents(definition, { loopIterations: { 'More?': 3 } });

    expect(thrice - once).toBe(2 * (5 + 2));
  });

  it('counts 4 events per inline Map and, per item, 2 around the states the item runs', () => {
    const withMap: AslDefinition = {
      StartAt: 'Each',
      States: { Each: { Type: 'Map', ItemProcessor: definition, End: true } },
    };
    const item = 2 + projectHistoryEvents(definition) - 2;

    expect(projectHistoryEvents(withMap, { mapIterations: { Each: 3 } })).toBe(2 + 4 + 3 * item);
    expect(projectHistoryEvents(withMap, { mapIterations: { Each: 0 } })).toBe(2 + 4);
  });

  it('refuses a Map state without the states its items run', () => {
    const withMap: AslDefinition = { StartAt: 'Each', States: { Each: { Type: 'Map', End: true } } };

    expect(() => projectHistoryEvents(withMap)).toThrow('Map "Each" has no ItemProcessor');
  });
});
