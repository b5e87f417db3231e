import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as awaitStep } from '../../lambdas/handlers/await-step.js';
import { handler as recordOutcome } from '../../lambdas/handlers/record-outcome.js';
import { handler as recordRolloutEnded } from '../../lambdas/handlers/record-rollout-ended.js';
import { snapshotTable } from './support/fake-table.js';
import {
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  givenStep,
  RELEASE,
  scheduled,
  storedCustomer,
  storedStep,
} from './support/given.js';
import {
  errorFrom,
  givenExecution,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  tokensAnswered,
} from './support/world.js';

// Step Functions reports on the default bus that a customer's rollout execution ended; the release must
// hear of the ones that ended without recording their customer's outcome.

const CUSTOMER_MACHINE =
  'arn:aws:states:eu-central-1:111122223333:stateMachine:securewatch-release-v1-1-0-customer';
const executionOf = (customerId: string) =>
  `${CUSTOMER_MACHINE.replace(':stateMachine:', ':execution:')}:v1-1-0-${customerId}`;

/** The rollout's input, as start-customer-rollouts gives it. */
const rolloutInput = (customerId: string) => ({
  release: RELEASE,
  customerId,
  approvalRequired: false,
  deployable: true,
  approvalTimeoutSeconds: 1_555_200,
});

// The Lambda error the customer rollout's "Recording failed" state ends the execution with.
const RECORDING_CAUSE = JSON.stringify({
  errorType: 'Error',
  errorMessage: 'Item size has exceeded the maximum allowed size',
  trace: [
    'Error: Item size has exceeded the maximum allowed size',
    '    at applyTransition (customers.ts:190)',
  ],
});

function statusChange(
  customerId: string,
  status: string,
  overrides: { input?: string | null; error?: string | null; cause?: string | null } = {},
) {
  return {
    version: '0',
    id: `315c1398-40ff-a850-213b-158f73e60175-${customerId}`,
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '111122223333',
    time: '2027-03-13T02:42:00Z',
    region: 'eu-central-1',
    resources: [executionOf(customerId)],
    detail: {
      executionArn: executionOf(customerId),
      stateMachineArn: CUSTOMER_MACHINE,
      name: `v1-1-0-${customerId}`,
      status,
      startDate: 1_804_323_600_000,
      stopDate: 1_804_394_520_000,
      input: JSON.stringify(rolloutInput(customerId)),
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
      error: 'Rollout.RecordingFailed',
      cause: RECORDING_CAUSE,
      ...overrides,
    },
  };
}

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-03-13T02:42:00.000Z');
  givenRelease('running');
  // Northwind's deployment was requested; Fabrikam is scheduled for its window.
  givenCustomer(deploymentRequested(aStandardCustomer({ id: 'northwind-logistics' })));
  givenCustomer(scheduled(aStandardCustomer({ id: 'fabrikam', name: 'Fabrikam' })));
  givenStep('standard_2', { total: 2 });
});
afterAll(restoreRealClock);

describe('record-rollout-ended', () => {
  it('records the customer of a failed rollout failed, with the cause and without the stack trace', async () => {
    // Act
    const result = await recordRolloutEnded(statusChange('northwind-logistics', 'FAILED'));

    // Assess
    const reason =
      'its rollout execution failed: Rollout.RecordingFailed: Item size has exceeded the maximum allowed size';
    expect(result).toEqual({ customerId: 'northwind-logistics', outcome: 'failed', counted: true });
    expect(storedCustomer('northwind-logistics')).toMatchObject({ state: 'failed', outcomeReason: reason });
    expect(storedCustomer('northwind-logistics')?.history.at(-1)).toEqual({
      state: 'failed',
      at: '2027-03-13T02:42:00.000Z',
      by: 'rollout status change',
      reason,
    });
    expect(storedStep('standard_2')).toMatchObject({ recorded: 1, failed: 1 });
  });

  it.each([
    ['TIMED_OUT', 'its rollout execution timed out'],
    ['ABORTED', 'its rollout execution was stopped'],
  ])('records the customer of a rollout %s failed: "%s"', async (status, reason) => {
    // Act
    await recordRolloutEnded(statusChange('northwind-logistics', status, { error: null, cause: null }));

    // Assess
    expect(storedCustomer('northwind-logistics')).toMatchObject({ state: 'failed', outcomeReason: reason });
  });

  it('answers the release waiting on the step when this was its last customer', async () => {
    // Prepare
    await awaitStep({ release: RELEASE, step: 'standard_2', taskToken: 'step-token' });
    await recordOutcome({ release: RELEASE, customerId: 'fabrikam', outcome: 'held', reason: 'no window' });

    // Act
    await recordRolloutEnded(statusChange('northwind-logistics', 'FAILED'));

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'step-token',
        outcome: 'success',
        output: expect.objectContaining({ halted: false, total: 2, failed: 1, held: 1 }),
      },
    ]);
  });

  it('counts and answers once when the status change is delivered twice', async () => {
    // Prepare
    await awaitStep({ release: RELEASE, step: 'standard_2', taskToken: 'step-token' });
    await recordOutcome({ release: RELEASE, customerId: 'fabrikam', outcome: 'held', reason: 'no window' });
    await recordRolloutEnded(statusChange('northwind-logistics', 'FAILED'));

    // Act
    const again = await recordRolloutEnded(statusChange('northwind-logistics', 'FAILED'));

    // Assess
    expect(again).toEqual({ customerId: 'northwind-logistics', outcome: 'failed', counted: false });
    expect(storedStep('standard_2')).toMatchObject({ recorded: 2, failed: 1, held: 1 });
    expect(tokensAnswered()).toHaveLength(1);
    expect(
      storedCustomer('northwind-logistics')?.history.filter((entry) => entry.state === 'failed'),
    ).toHaveLength(1);
  });

  it('leaves a customer that already has its outcome as it is', async () => {
    // Prepare
    await recordOutcome({ release: RELEASE, customerId: 'northwind-logistics', outcome: 'deployed' });
    const before = snapshotTable();

    // Act
    const result = await recordRolloutEnded(statusChange('northwind-logistics', 'ABORTED'));

    // Assess
    expect(result).toEqual({ customerId: 'northwind-logistics', outcome: 'deployed', counted: false });
    expect(snapshotTable()).toEqual(before);
  });

  it('counts the outcome of a rollout that died between recording it and counting it', async () => {
    // Prepare: the customer is deployed, but its step never counted it.
    givenCustomer({
      ...deploymentRequested(aStandardCustomer({ id: 'northwind-logistics' })),
      state: 'deployed',
    });

    // Act
    await recordRolloutEnded(statusChange('northwind-logistics', 'FAILED'));

    // Assess
    expect(storedCustomer('northwind-logistics')?.state).toBe('deployed');
    expect(storedStep('standard_2')).toMatchObject({ recorded: 1, deployed: 1, failed: 0 });
  });

  it('reads the input from the execution when the event leaves it out (too large to include)', async () => {
    // Prepare
    givenExecution(executionOf('northwind-logistics'), rolloutInput('northwind-logistics'));

    // Act
    await recordRolloutEnded(statusChange('northwind-logistics', 'FAILED', { input: null }));

    // Assess
    expect(storedCustomer('northwind-logistics')?.state).toBe('failed');
  });

  it('ignores a rollout that succeeded: it recorded its outcome itself', async () => {
    // Prepare
    const before = snapshotTable();

    // Act
    const result = await recordRolloutEnded(
      statusChange('northwind-logistics', 'SUCCEEDED', { error: null, cause: null }),
    );

    // Assess
    expect(result).toEqual({ executionArn: executionOf('northwind-logistics'), ignored: 'SUCCEEDED' });
    expect(snapshotTable()).toEqual(before);
  });

  it('rejects an event that is not a status change, naming what is wrong, and changes nothing', async () => {
    // Prepare
    const before = snapshotTable();
    const event = statusChange('northwind-logistics', 'FAILED');

    // Act
    const error = await errorFrom(() =>
      recordRolloutEnded({ ...event, detail: { ...event.detail, executionArn: undefined } }),
    );

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toMatch(/status change.*detail\.executionArn/s);
    expect(snapshotTable()).toEqual(before);
  });

  it('rejects the status change of an execution that is not a customer rollout, and changes nothing', async () => {
    // Prepare
    const before = snapshotTable();

    // Act
    const error = await errorFrom(() =>
      recordRolloutEnded(
        statusChange('northwind-logistics', 'FAILED', {
          input: JSON.stringify({ version: RELEASE, startAt: '2027-03-01T09:00:00Z' }),
        }),
      ),
    );

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toMatch(/not a customer rollout.*customerId/s);
    expect(snapshotTable()).toEqual(before);
  });
});
