import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordHealthReport } from '../../lambdas/application/health.js';
import { sweepHealth } from '../../lambdas/application/health-sweep.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import type { PolicyName } from '../../lambdas/core/model.js';
import type { RollbackInput } from '../../lambdas/core/rollback.js';
import { SCHEMA_VERSION } from '../../lambdas/events/contract.js';
import { handler } from '../../lambdas/handlers/health-sweep.js';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { applyTransition, getCustomer, putCustomerIfAbsent } from '../../lambdas/store/customers.js';
import { createRelease, moveRelease } from '../../lambdas/store/releases.js';
import { getStep, putStepIfAbsent } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';

// The scheduled health sweep on dynalite: what it does for each deployed customer of a release still going.

const RELEASE = 'v1.2.0';
const REQUESTED_AT = '2027-01-04T01:00:00.000Z';
const DEPLOYED_AT = '2027-01-04T02:00:00.000Z';
let database: LocalDynamoDb;
let time = DEPLOYED_AT;
let customerNumber = 0;
let started: RollbackInput[] = [];
const start = async (input: RollbackInput) => {
  started.push(input);
};

beforeAll(async () => {
  database = await startReleaseTable();
  useClock({ now: () => time });
  await createRelease(
    {
      release: RELEASE,
      startAt: '2027-01-01T09:00:00Z',
      endAt: '2027-03-01T09:00:00Z',
      steps: {},
      phases: {},
    },
    { config: bundledConfig(), fleetRevision: 1 },
  );
  await moveRelease(RELEASE, ['planning'], 'running');
});

afterAll(async () => {
  useRealClock();
  resetClients();
  await database.stop();
});

beforeEach(() => {
  started = [];
});

/** A customer of `policy` alone on its own step, its deployment requested (and, unless told otherwise, done). */
async function aCustomer(
  policy: PolicyName,
  { deployed = true, release = RELEASE } = {},
): Promise<{ id: string; step: string }> {
  customerNumber += 1;
  const id = `${policy}-customer-${customerNumber}`;
  const step = `${policy}_${customerNumber}`;
  await putStepIfAbsent(release, step, { total: 1, oneAtATime: false, waitUntil: '2027-02-01T00:00:00Z' });
  await putCustomerIfAbsent(
    release,
    {
      id,
      name: `Customer ${customerNumber}`,
      policy,
      phase: policy,
      batch: 1,
      noticeAt: null,
      deployAt: REQUESTED_AT,
      approvalRequired: false,
      deadlineAt: '2027-01-31T09:00:00Z',
      timeZone: 'UTC',
      stepKey: step,
      window: { timeZone: 'UTC', days: ['mon'], start: '01:00', durationMinutes: 240 },
      contacts: [{ name: 'Ops', email: `ops@customer-${customerNumber}.example.com` }],
      approvers: [],
    },
    '2027-01-01T09:00:00Z',
  );
  const cause = { at: REQUESTED_AT, by: 'test' };
  await applyTransition(release, id, TRANSITIONS.schedule, cause);
  await applyTransition(release, id, TRANSITIONS.requestDeployment, cause, {
    deploymentRequestedAt: REQUESTED_AT,
  });
  if (deployed) await deploy(id, release);
  return { id, step };
}

const deploy = (id: string, release = RELEASE) =>
  applyTransition(
    release,
    id,
    TRANSITIONS.recordDeployed,
    { at: DEPLOYED_AT, by: 'test' },
    { deployedAt: DEPLOYED_AT },
  );

const report = (
  customerId: string,
  reportedAt: string,
  overrides: { criticalErrors?: number } = {},
  version = RELEASE,
) =>
  recordHealthReport(
    {
      schemaVersion: SCHEMA_VERSION,
      customerId,
      version,
      reportedAt,
      errorRatePercent: 0.1,
      latencyChangePercent: 1,
      criticalErrors: 0,
      securityFindings: 0,
      supportTickets: 0,
      ...overrides,
    },
    start,
  );

describe('the health sweep', () => {
  it('requests the rollback a report fired before the customer’s deployment result was in', async () => {
    // Arrange
    const { id } = await aCustomer('startup', { deployed: false });
    time = '2027-01-04T01:45:00.000Z';
    await report(id, '2027-01-04T01:40:00.000Z', { criticalErrors: 2 });
    await deploy(id);
    time = '2027-01-04T03:00:00.000Z';

    // Act
    const result = await sweepHealth(start);

    // Assert
    expect(result.rollbacksStarted).toBe(1);
    expect(started).toEqual([
      expect.objectContaining({
        customerId: id,
        trigger: 'critical-errors',
        reason: '2 critical application error(s) reported',
      }),
    ]);
    expect((await getCustomer(RELEASE, id))?.history.at(-1)).toMatchObject({
      state: 'rolling-back',
      by: 'health-sweep',
    });
  });

  it('flags a customer silent past 24 hours once, in its history and on its step, and never rolls it back for it', async () => {
    // Arrange
    const { id, step } = await aCustomer('standard');
    time = '2027-01-04T08:00:00.000Z';
    await report(id, '2027-01-04T08:00:00.000Z');
    time = '2027-01-05T08:00:00.000Z';
    const notYet = await sweepHealth(start);
    time = '2027-01-05T09:00:00.000Z';

    // Act
    const first = await sweepHealth(start);
    const second = await sweepHealth(start);

    // Assert
    expect(notYet.newlySilent).toBe(0);
    expect(first.newlySilent).toBe(1);
    expect(second.newlySilent).toBe(0);
    const customer = await getCustomer(RELEASE, id);
    expect(customer?.state).toBe('deployed');
    expect(customer?.silentSince).toBe('2027-01-05T09:00:00.000Z');
    expect(customer?.history.filter((entry) => entry.by === 'health-sweep')).toEqual([
      {
        state: 'deployed',
        at: '2027-01-05T09:00:00.000Z',
        by: 'health-sweep',
        reason: 'silent: no health report since 2027-01-04T08:00:00.000Z, more than 24 h',
      },
    ]);
    expect((await getStep(RELEASE, step))?.silentCustomers).toEqual(new Set([id]));
    expect(started.filter((input) => input.customerId === id)).toEqual([]);
  });

  it('takes the flag off when the silent customer reports again', async () => {
    // Arrange
    const { id, step } = await aCustomer('standard');
    time = '2027-01-06T09:00:00.000Z';
    await sweepHealth(start);
    time = '2027-01-06T10:00:00.000Z';

    // Act
    await report(id, '2027-01-06T10:00:00.000Z');

    // Assert
    const customer = await getCustomer(RELEASE, id);
    expect(customer?.silentSince).toBeUndefined();
    expect(customer?.history.at(-1)).toMatchObject({
      state: 'deployed',
      by: 'record-health-report',
      reason: 'reporting health again (report of 2027-01-06T10:00:00.000Z)',
    });
    expect((await getStep(RELEASE, step))?.silentCustomers ?? new Set()).toEqual(new Set());
  });

  it('watches a customer only inside its rollback window: a demo customer after a day is left alone', async () => {
    // Arrange
    const { id } = await aCustomer('demo');
    time = '2027-01-05T02:00:01.000Z';

    // Act
    await sweepHealth(start);

    // Assert
    expect((await getCustomer(RELEASE, id))?.silentSince).toBeUndefined();
  });

  it('leaves the customers of a release that has ended alone', async () => {
    // Arrange
    const { id } = await aCustomer('enterprise');
    await moveRelease(RELEASE, ['running'], 'completed');
    time = '2027-01-10T09:00:00.000Z';

    // Act
    const result = await sweepHealth(start);

    // Assert
    expect(result.releases).toBe(0);
    expect((await getCustomer(RELEASE, id))?.silentSince).toBeUndefined();
    await moveRelease(RELEASE, ['completed'], 'running');
  });

  it('asks again for a rollback whose start failed, though the customer keeps reporting on time', async () => {
    // Arrange
    const { id } = await aCustomer('startup');
    time = '2027-01-04T03:00:00.000Z';
    const failedStart = recordHealthReport(
      {
        schemaVersion: SCHEMA_VERSION,
        customerId: id,
        version: RELEASE,
        reportedAt: '2027-01-04T03:00:00.000Z',
        errorRatePercent: 0.1,
        latencyChangePercent: 1,
        criticalErrors: 2,
        securityFindings: 0,
        supportTickets: 0,
      },
      async () => {
        throw new Error('Step Functions unavailable');
      },
    );
    await expect(failedStart).rejects.toThrow('Step Functions unavailable');
    time = '2027-01-04T04:00:00.000Z';
    await report(id, '2027-01-04T04:00:00.000Z');
    time = '2027-01-04T05:00:00.000Z';

    // Act
    await sweepHealth(start);

    // Assert
    expect(started.filter((input) => input.customerId === id)).toEqual([
      expect.objectContaining({ customerId: id, trigger: 'critical-errors' }),
    ]);
    expect((await getCustomer(RELEASE, id))?.state).toBe('rolling-back');
  });

  it('runs from EventBridge’s scheduled event, starting again the rollback of a customer rolling back', async () => {
    // Arrange
    process.env.RELEASE_STATE_MACHINE_ARN_PREFIX =
      'arn:aws:states:eu-central-1:111122223333:stateMachine:securewatch-release-';
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'started', startDate: new Date() });
    time = '2027-03-01T00:00:00.000Z';

    // Act
    const result = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
    const refused = handler({ 'detail-type': 'Health Reported' });

    // Assert
    expect(result).toMatchObject({ releases: 1 });
    await expect(refused).rejects.toThrow(/^Task input rejected: detail-type/);
    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toContainEqual({
      stateMachineArn:
        'arn:aws:states:eu-central-1:111122223333:stateMachine:securewatch-release-v1-2-0-rollback',
      name: 'rollback-startup-customer-1-20270104T030000Z',
      input: JSON.stringify({
        release: RELEASE,
        customerId: 'startup-customer-1',
        trigger: 'critical-errors',
        reason: '2 critical application error(s) reported',
        requestedAt: '2027-01-04T03:00:00.000Z',
      }),
    });
    sfn.restore();
    delete process.env.RELEASE_STATE_MACHINE_ARN_PREFIX;
  });
});

describe('between its passes', () => {
  const OTHER = 'v1.3.0';

  /** The customer items of `release` that `sweep` reads (from the sweep's index or the table), and its requests. */
  async function customerReadsOf(
    release: string,
    sweep: () => Promise<unknown>,
  ): Promise<{ items: number; requests: string[] }> {
    const counted = { items: 0, requests: [] as string[] };
    const ofRelease = (item: Record<string, unknown>) =>
      String(item.PK).startsWith(`RELEASE#${release}#CUSTOMERS#`) && String(item.SK).startsWith('CUSTOMER#');
    dynamo().middlewareStack.add(
      (next, context) => async (args) => {
        counted.requests.push(String(context.commandName));
        const answer = await next(args);
        const output = answer.output as {
          Items?: Record<string, unknown>[];
          Item?: Record<string, unknown>;
          Responses?: Record<string, Record<string, unknown>[]>;
        };
        const items = [...(output.Items ?? []), ...(output.Item ? [output.Item] : [])];
        // A batched read's answer is projected without the keys: the keys it asked for tell whose items they are.
        const asked = (args.input as { RequestItems?: Record<string, { Keys: Record<string, unknown>[] }> })
          .RequestItems;
        const batched = Object.values(asked ?? {}).flatMap((request) => request.Keys);
        counted.items +=
          items.filter(ofRelease).length + (output.Responses ? batched.filter(ofRelease).length : 0);
        return answer;
      },
      { step: 'initialize', name: 'countCustomerReads' },
    );
    try {
      await sweep();
    } finally {
      dynamo().middlewareStack.remove('countCustomerReads');
    }
    return counted;
  }

  async function aRunningRelease(release: string): Promise<void> {
    await createRelease(
      {
        release,
        startAt: '2027-01-01T09:00:00Z',
        endAt: '2027-03-01T09:00:00Z',
        steps: {},
        phases: {},
      },
      { config: bundledConfig(), fleetRevision: 1 },
    );
    await moveRelease(release, ['planning'], 'running');
  }

  it('reads a customer only when it may need the sweep', async () => {
    // Arrange
    await aRunningRelease(OTHER);
    const quiet = await aCustomer('standard', { release: OTHER });
    time = '2027-01-04T03:00:00.000Z';
    await report(quiet.id, '2027-01-04T03:00:00.000Z', {}, OTHER);
    const reads = async () => (await customerReadsOf(OTHER, () => sweepHealth(start))).items;

    // Act
    const first = await reads();
    time = '2027-01-04T09:00:00.000Z';
    const beforeAnyoneIsDue = await reads();
    time = '2027-01-05T03:00:00.002Z';
    const whenQuietFallsSilent = await reads();
    time = '2027-01-05T04:00:00.000Z';
    const afterwards = await reads();
    const waiting = await aCustomer('startup', { deployed: false, release: OTHER });
    await report(waiting.id, '2027-01-05T04:00:00.000Z', { criticalErrors: 2 }, OTHER);
    await deploy(waiting.id, OTHER);
    time = '2027-01-05T05:00:00.000Z';
    const forAWaitingTrigger = await reads();

    // Assert: a customer that needs the sweep is found in its index and re-read from the table (two items);
    // the rollback's request reads it once more.
    expect([first, beforeAnyoneIsDue, whenQuietFallsSilent, afterwards, forAWaitingTrigger]).toEqual([
      0, 0, 2, 0, 3,
    ]);
    expect((await getCustomer(OTHER, quiet.id))?.silentSince).toBe('2027-01-05T03:00:00.002Z');
    expect(started.filter((input) => input.release === OTHER).map((input) => input.customerId)).toEqual([
      waiting.id,
    ]);
    await moveRelease(OTHER, ['running'], 'completed');
  });

  it('reads none of the many deployed customers reporting on time, only the one gone quiet', async () => {
    // Arrange
    const MANY = 'v1.4.0';
    await aRunningRelease(MANY);
    const onTime: string[] = [];
    for (let n = 0; n < 40; n += 1) onTime.push((await aCustomer('standard', { release: MANY })).id);
    const quiet = await aCustomer('standard', { release: MANY });
    time = '2027-01-05T01:00:00.000Z';
    for (const id of onTime) await report(id, '2027-01-05T01:00:00.000Z', {}, MANY);
    time = '2027-01-05T01:30:00.000Z';
    const beforeAnyFallsSilent = await customerReadsOf(MANY, () => sweepHealth(start));
    time = '2027-01-05T08:00:00.000Z';

    // Act
    const read = await customerReadsOf(MANY, () => sweepHealth(start));

    // Assert
    expect(beforeAnyFallsSilent.items).toBe(0);
    expect(beforeAnyFallsSilent.requests.filter((name) => name === 'BatchGetCommand')).toEqual([]);
    expect(read.items).toBe(2);
    expect((await getCustomer(MANY, quiet.id))?.silentSince).toBe('2027-01-05T08:00:00.000Z');
    for (const id of onTime) expect((await getCustomer(MANY, id))?.silentSince).toBeUndefined();
    await moveRelease(MANY, ['running'], 'completed');
  });
});
