import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RollbackRequest, requestRollback } from '../../lambdas/application/rollbacks.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import type { PolicyName } from '../../lambdas/core/model.js';
import { type RollbackInput, rollbackExecutionName } from '../../lambdas/core/rollback.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { emailCounts } from '../../lambdas/store/audit.js';
import { applyTransition, getCustomer, putCustomerIfAbsent } from '../../lambdas/store/customers.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';

// Rollback requests against dynalite, where duplicate triggers really race: a health report, its
// redelivery, the health sweep and an operator can all ask for the same customer's rollback at once.

const RELEASE = 'v1.1.0';
const DEPLOYED_AT = '2027-01-04T02:00:00.000Z';
const RELEASE_MANAGER = 'release-manager@securewatch.example.com';
const RACERS = 20;
const queueMock = mockClient(SQSClient);
let database: LocalDynamoDb;
let customerNumber = 0;
let time = DEPLOYED_AT;

/** Step Functions as far as a rollback start goes: one execution per name; the same input again is a no-op. */
class FakeRollbackStarts {
  readonly executions = new Map<string, RollbackInput>();
  calls = 0;
  failNext = false;
  readonly start = async (input: RollbackInput) => {
    this.calls += 1;
    await Promise.resolve();
    if (this.failNext) {
      this.failNext = false;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
    const name = rollbackExecutionName(input.customerId, input.requestedAt);
    const existing = this.executions.get(name);
    if (existing && JSON.stringify(existing) !== JSON.stringify(input))
      throw Object.assign(new Error(`Execution already exists: ${name}`), { name: 'ExecutionAlreadyExists' });
    this.executions.set(name, input);
  };
}

function escalationEmails(): { to: string[]; subject: string; text: string }[] {
  return queueMock.commandCalls(SendMessageCommand).map((call) => {
    const { to, message } = JSON.parse(call.args[0].input.MessageBody ?? '{}');
    return { to, subject: message.subject, text: message.text };
  });
}

beforeAll(async () => {
  database = await startReleaseTable({
    EMAIL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/securewatch-email',
    ESCALATION_EMAILS: RELEASE_MANAGER,
  });
  useClock({ now: () => time });
});

afterAll(async () => {
  useRealClock();
  queueMock.restore();
  resetClients();
  await database.stop();
});

beforeEach(() => {
  queueMock.reset();
  queueMock.on(SendMessageCommand).resolves({ MessageId: 'queued' });
  time = DEPLOYED_AT;
});

/** A customer of `policy` deployed at DEPLOYED_AT. */
async function aDeployedCustomer(policy: PolicyName): Promise<string> {
  customerNumber += 1;
  const id = `${policy}-customer-${customerNumber}`;
  await putCustomerIfAbsent(
    RELEASE,
    {
      id,
      name: `Customer ${customerNumber}`,
      policy,
      phase: policy,
      batch: 1,
      noticeAt: null,
      deployAt: '2027-01-04T01:00:00Z',
      approvalRequired: false,
      deadlineAt: '2027-01-31T09:00:00Z',
      timeZone: 'UTC',
      stepKey: `${policy}_1`,
      window: { timeZone: 'UTC', days: ['mon'], start: '01:00', durationMinutes: 240 },
      contacts: [{ name: 'Ops', email: `ops@customer-${customerNumber}.example.com` }],
      approvers: [],
    },
    '2027-01-01T09:00:00Z',
  );
  const cause = { at: '2027-01-04T01:00:00.000Z', by: 'test' };
  await applyTransition(RELEASE, id, TRANSITIONS.schedule, cause);
  await applyTransition(RELEASE, id, TRANSITIONS.requestDeployment, cause, {
    deploymentRequestedAt: cause.at,
  });
  await applyTransition(
    RELEASE,
    id,
    TRANSITIONS.recordDeployed,
    { at: DEPLOYED_AT, by: 'test' },
    { deployedAt: DEPLOYED_AT },
  );
  return id;
}

const criticalErrors = (customerId: string, by = 'record-health-report'): RollbackRequest => ({
  release: RELEASE,
  customerId,
  trigger: 'critical-errors',
  reason: '3 critical application error(s) reported',
  by,
});

describe('requesting a deployed customer’s rollback', () => {
  it('moves it to rolling-back with the trigger in its history and starts its rollback execution', async () => {
    // Arrange
    const customerId = await aDeployedCustomer('startup');
    const starts = new FakeRollbackStarts();
    time = '2027-01-05T10:00:00.000Z';

    // Act
    const result = await requestRollback(criticalErrors(customerId), starts.start);

    // Assert
    expect(result).toEqual({ kind: 'started' });
    const customer = await getCustomer(RELEASE, customerId);
    expect(customer?.state).toBe('rolling-back');
    expect(customer?.history.at(-1)).toEqual({
      state: 'rolling-back',
      at: time,
      by: 'record-health-report',
      reason: 'critical-errors: 3 critical application error(s) reported',
    });
    expect([...starts.executions.values()]).toEqual([
      {
        release: RELEASE,
        customerId,
        trigger: 'critical-errors',
        reason: '3 critical application error(s) reported',
        requestedAt: time,
      },
    ]);
  });

  it(`gives one rollback when ${RACERS} triggers ask at once: one start, one history entry, the rest find it rolling back`, async () => {
    // Arrange
    const customerId = await aDeployedCustomer('standard');
    const starts = new FakeRollbackStarts();
    const triggers = ['critical-errors', 'performance-degradation', 'security-finding', 'operator'] as const;
    time = '2027-01-06T10:00:00.000Z';

    // Act
    const results = await Promise.all(
      Array.from({ length: RACERS }, (_, index) =>
        requestRollback(
          {
            ...criticalErrors(customerId, `racer-${index}`),
            trigger: triggers[index % triggers.length] ?? 'operator',
          },
          starts.start,
        ),
      ),
    );

    // Assert
    expect(results.filter((result) => result.kind === 'started')).toHaveLength(1);
    expect(results.filter((result) => result.kind === 'already-rolling-back')).toHaveLength(RACERS - 1);
    expect(starts.executions.size).toBe(1);
    const customer = await getCustomer(RELEASE, customerId);
    expect(customer?.history.filter((entry) => entry.state === 'rolling-back')).toHaveLength(1);
    expect(
      starts.executions.get(rollbackExecutionName(customerId, String(customer?.rollbackRequestedAt)))
        ?.trigger,
    ).toBe(customer?.rollbackTrigger);
  });

  it('starts the execution a retry finds missing: the customer rolling back but its start failed', async () => {
    // Arrange
    const customerId = await aDeployedCustomer('startup');
    const starts = new FakeRollbackStarts();
    starts.failNext = true;
    time = '2027-01-05T10:00:00.000Z';
    await expect(requestRollback(criticalErrors(customerId), starts.start)).rejects.toThrow('Rate exceeded');
    time = '2027-01-05T10:05:00.000Z';

    // Act
    const retried = await requestRollback(criticalErrors(customerId), starts.start);

    // Assert
    expect(retried).toEqual({ kind: 'already-rolling-back' });
    expect([...starts.executions.values()]).toEqual([
      expect.objectContaining({ customerId, requestedAt: '2027-01-05T10:00:00.000Z' }),
    ]);
  });
});

describe('a rollback outside the customer’s window', () => {
  it.each([
    { policy: 'demo', lastDay: '2027-01-05T02:00:00.000Z', after: '2027-01-05T02:00:01.000Z' },
    { policy: 'startup', lastDay: '2027-01-11T02:00:00.000Z', after: '2027-01-11T02:00:01.000Z' },
    { policy: 'standard', lastDay: '2027-01-18T02:00:00.000Z', after: '2027-01-18T03:00:00.000Z' },
    { policy: 'enterprise', lastDay: '2027-02-03T02:00:00.000Z', after: '2027-02-04T00:00:00.000Z' },
  ] as const)(
    'is possible on the last instant of the $policy window, refused after it',
    async ({ policy, lastDay, after }) => {
      const inside = await aDeployedCustomer(policy);
      const outside = await aDeployedCustomer(policy);
      const starts = new FakeRollbackStarts();

      time = lastDay;
      expect(await requestRollback(criticalErrors(inside), starts.start)).toEqual({ kind: 'started' });
      time = after;
      expect(await requestRollback(criticalErrors(outside), starts.start)).toMatchObject({
        kind: 'refused',
        refusal: 'window-closed',
      });
    },
  );

  it('is refused with the reason, recorded in its history and told to the release manager once, however often asked', async () => {
    // Arrange
    const customerId = await aDeployedCustomer('startup');
    const starts = new FakeRollbackStarts();
    time = '2027-01-12T09:00:00.000Z';
    const before = (await emailCounts(RELEASE))['rollback-refused'] ?? 0;

    // Act
    const results = await Promise.all(
      Array.from({ length: 5 }, () => requestRollback(criticalErrors(customerId), starts.start)),
    );

    // Assert
    const reason =
      'the 7-day rollback window after its deployment on 2027-01-04T02:00:00.000Z closed on 2027-01-11T02:00:00.000Z: forward fix only';
    expect(results).toEqual(Array(5).fill({ kind: 'refused', refusal: 'window-closed', reason }));
    expect(starts.calls).toBe(0);
    const customer = await getCustomer(RELEASE, customerId);
    expect(customer?.state).toBe('deployed');
    expect(customer?.history.filter((entry) => entry.reason?.startsWith('rollback refused'))).toEqual([
      {
        state: 'deployed',
        at: time,
        by: 'record-health-report',
        reason: `rollback refused (critical-errors: 3 critical application error(s) reported): ${reason}`,
      },
    ]);
    const emails = escalationEmails();
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      to: [RELEASE_MANAGER],
      subject: `ROLLBACK REFUSED: Customer ${customerNumber} on SecureWatch ${RELEASE}`,
    });
    expect(emails[0]?.text).toContain('forward fix only');
    expect((await emailCounts(RELEASE))['rollback-refused']).toBe(before + 1);
  });

  it('tells the release manager again if the email could not be queued the first time', async () => {
    // Arrange
    const customerId = await aDeployedCustomer('demo');
    time = '2027-01-09T09:00:00.000Z';
    queueMock
      .on(SendMessageCommand)
      .rejectsOnce(new Error('queue unavailable'))
      .resolves({ MessageId: 'queued' });

    // Act
    await expect(requestRollback(criticalErrors(customerId), new FakeRollbackStarts().start)).rejects.toThrow(
      'queue unavailable',
    );
    const retried = await requestRollback(criticalErrors(customerId), new FakeRollbackStarts().start);

    // Assert
    expect(retried).toMatchObject({ kind: 'refused', refusal: 'window-closed' });
    expect(queueMock.commandCalls(SendMessageCommand)).toHaveLength(2);
  });
});

describe('a customer that cannot be rolled back', () => {
  it('is refused without a record while it is not deployed (the health sweep asks again once it is)', async () => {
    // Arrange
    customerNumber += 1;
    const customerId = `startup-customer-${customerNumber}`;
    await putCustomerIfAbsent(
      RELEASE,
      {
        id: customerId,
        name: 'Not yet',
        policy: 'startup',
        phase: 'startup',
        batch: 1,
        noticeAt: null,
        deployAt: null,
        approvalRequired: false,
        deadlineAt: '2027-01-31T09:00:00Z',
        timeZone: 'UTC',
        stepKey: 'startup_1',
        window: { timeZone: 'UTC', days: ['mon'], start: '01:00', durationMinutes: 240 },
        contacts: [{ name: 'Ops', email: 'ops@not-yet.example.com' }],
        approvers: [],
      },
      '2027-01-01T09:00:00Z',
    );

    // Act
    const result = await requestRollback(criticalErrors(customerId), new FakeRollbackStarts().start);

    // Assert
    expect(result).toEqual({
      kind: 'refused',
      refusal: 'not-deployed',
      reason: `${customerId} is planned: only a deployed customer can be rolled back`,
    });
    expect((await getCustomer(RELEASE, customerId))?.history).toHaveLength(1);
    expect(escalationEmails()).toEqual([]);
  });

  it('is named in a clear error when the release has no such customer', async () => {
    await expect(requestRollback(criticalErrors('nobody'), new FakeRollbackStarts().start)).rejects.toThrow(
      'No customer nobody in release v1.1.0',
    );
  });
});
