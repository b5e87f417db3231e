import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awaitStep, recordOutcome } from '../../lambdas/application/outcomes.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { applyTransition, putCustomerIfAbsent } from '../../lambdas/store/customers.js';
import { createRelease, moveRelease } from '../../lambdas/store/releases.js';
import { getStep, putStepIfAbsent, putStepMember } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';

// A step's outcomes are counted on shard items (no single item takes every outcome of a large step); the
// release waiting on the step still goes on once all are in, and `Batch Completed` is published once, however
// the last outcomes race and whether they came before or after the release started waiting.

const RELEASE = 'v1.1.0';
const CUSTOMERS = 48;
let database: LocalDynamoDb;
let stepNumber = 0;
let step: string;
let ids: string[];
const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);

beforeAll(async () => {
  database = await startReleaseTable({ EVENT_BUS_NAME: 'securewatch-events' });
  const schedule = { release: RELEASE, startAt: '2027-03-01T09:00:00Z', endAt: '2027-04-01T09:00:00Z' };
  await createRelease({ ...schedule, steps: {}, phases: {} }, { config: bundledConfig(), fleetRevision: 1 });
  await moveRelease(RELEASE, ['planning'], 'running');
});

afterAll(async () => {
  sfn.restore();
  events.restore();
  resetClients();
  await database.stop();
});

/** A step of CUSTOMERS customers, scheduled. */
beforeEach(async () => {
  sfn.reset();
  sfn.on(SendTaskSuccessCommand).resolves({});
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  stepNumber += 1;
  step = `standard_${stepNumber}`;
  ids = Array.from({ length: CUSTOMERS }, (_, index) => `customer-${stepNumber}-${index}`);
  await Promise.all(
    ids.map(async (id) => {
      const planned = {
        id,
        name: id,
        policy: 'standard' as const,
        phase: 'standard' as const,
        batch: stepNumber,
        noticeAt: null,
        deployAt: '2027-03-13T01:00:00Z',
        approvalRequired: false,
        deadlineAt: '2027-04-01T09:00:00Z',
        timeZone: 'UTC',
      };
      await putCustomerIfAbsent(
        RELEASE,
        {
          ...planned,
          stepKey: step,
          window: { timeZone: 'UTC', days: ['sat'], start: '02:00', durationMinutes: 240 },
          contacts: [],
          approvers: [],
        },
        '2027-03-01T09:00:00Z',
      );
      await putStepMember(RELEASE, step, planned);
      const cause = { at: '2027-03-12T09:00:00Z', by: 'test' };
      await applyTransition(RELEASE, id, TRANSITIONS.schedule, cause);
    }),
  );
  await putStepIfAbsent(RELEASE, step, {
    total: CUSTOMERS,
    oneAtATime: false,
    waitUntil: '2027-04-01T09:00:00Z',
  });
});

afterEach(() => {
  sfn.reset();
  events.reset();
});

/** Every outcome of the step (none deployed: no health report is awaited), each sent twice at once (a retry racing its first run), all together. */
const everyOutcomeTwiceAtOnce = () =>
  Promise.all(
    ids.flatMap((id, index) =>
      [1, 2].map(() =>
        recordOutcome(RELEASE, id, index % 3 === 0 ? 'cancelled' : 'held', { by: 'customer rollout' }),
      ),
    ),
  );

const stepResumes = () =>
  sfn
    .commandCalls(SendTaskSuccessCommand)
    .filter((call) => call.args[0].input.taskToken === 'step-token')
    .map((call) => JSON.parse(call.args[0].input.output ?? '{}'));

const batchesCompleted = () =>
  events
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .filter((entry) => entry.DetailType === 'Batch Completed');

describe('a large step whose outcomes race', () => {
  it('counts each customer once and goes on once all are in, when the release waited first', async () => {
    await awaitStep(RELEASE, step, 'step-token');
    expect(stepResumes()).toEqual([]);

    await everyOutcomeTwiceAtOnce();

    expect(await getStep(RELEASE, step)).toMatchObject({ recorded: CUSTOMERS, cancelled: 16, held: 32 });
    // Answering the release's token again is harmless (Step Functions takes the first answer only).
    expect(stepResumes().length).toBeGreaterThanOrEqual(1);
    expect(stepResumes()[0]).toMatchObject({ halted: false, total: CUSTOMERS, cancelled: 16, held: 32 });
    expect(batchesCompleted()).toHaveLength(1);
  });

  it('goes on when it starts waiting, when every outcome came before', async () => {
    await everyOutcomeTwiceAtOnce();
    expect(stepResumes()).toEqual([]);

    await awaitStep(RELEASE, step, 'step-token');

    expect(stepResumes()).toEqual([
      expect.objectContaining({ halted: false, total: CUSTOMERS, cancelled: 16, held: 32 }),
    ]);
    expect(batchesCompleted()).toHaveLength(1);
  });

  it('waits while one customer has no outcome, and goes on at its outcome', async () => {
    const [last, ...others] = ids;
    await Promise.all(others.map((id) => recordOutcome(RELEASE, id, 'held', { by: 'customer rollout' })));
    await awaitStep(RELEASE, step, 'step-token');
    expect(stepResumes()).toEqual([]);

    await recordOutcome(RELEASE, String(last), 'cancelled', { by: 'customer rollout' });

    expect(stepResumes()).toEqual([
      expect.objectContaining({ halted: false, held: CUSTOMERS - 1, cancelled: 1 }),
    ]);
    expect(batchesCompleted()).toHaveLength(1);
  });
});
