import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as recordRollbackResult } from '../../lambdas/handlers/record-rollback-result.js';
import { snapshotTable } from './support/fake-table.js';
import { aStandardCustomer, givenCustomer, givenRelease, storedCustomer } from './support/given.js';
import { busEvent } from './support/when.js';
import { errorFrom, resetWorld, restoreRealClock, taskAnswerCalls, tokensAnswered } from './support/world.js';

const answer = (
  detailType: 'Rollback Succeeded' | 'Rollback Failed',
  overrides: Record<string, unknown> = {},
) =>
  busEvent(detailType, {
    schemaVersion: '1.1',
    correlationId: 'v1.1.0/northwind-logistics',
    customerId: 'northwind-logistics',
    release: 'v1.1.0',
    completedAt: '2027-03-14T02:10:00Z',
    ...(detailType === 'Rollback Failed' ? { reason: 'snapshot restore failed' } : {}),
    ...overrides,
  });

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenCustomer(
    aStandardCustomer({
      state: 'rolling-back',
      deployedAt: '2027-03-13T02:41:00Z',
      rollbackPublishedAt: '2027-03-14T01:40:00.000Z',
      rollbackStatus: 'requested',
      rollbackToken: 'rollback-token',
    }),
  );
});
afterAll(restoreRealClock);

describe('record-rollback-result', () => {
  it('records a Rollback Succeeded and resumes the rollback workflow with the stored token', async () => {
    const result = await recordRollbackResult(answer('Rollback Succeeded'));

    expect(result).toEqual({ recorded: true });
    // The workflow's next task (record-rollback-outcome) moves the customer on to `rolled-back`.
    expect(storedCustomer('northwind-logistics')).toMatchObject({
      state: 'rolling-back',
      rollbackStatus: 'succeeded',
      rolledBackAt: '2027-03-14T02:10:00Z',
    });
    expect(tokensAnswered()).toEqual([
      {
        token: 'rollback-token',
        outcome: 'success',
        output: { status: 'succeeded', rolledBackAt: '2027-03-14T02:10:00Z' },
      },
    ]);
  });

  it('records a Rollback Failed and fails the workflow’s wait with Rollback.Failed and the reason', async () => {
    await recordRollbackResult(answer('Rollback Failed'));

    expect(storedCustomer('northwind-logistics')).toMatchObject({
      rollbackStatus: 'failed',
      rollbackFailureReason: 'snapshot restore failed',
    });
    expect(tokensAnswered()).toEqual([
      {
        token: 'rollback-token',
        outcome: 'failure',
        error: 'Rollback.Failed',
        cause: 'snapshot restore failed',
      },
    ]);
  });

  it('changes nothing when the same answer is delivered again, nor on a late rival answer', async () => {
    await recordRollbackResult(answer('Rollback Succeeded'));
    const tableAfterFirstDelivery = snapshotTable();

    expect(await recordRollbackResult(answer('Rollback Succeeded'))).toEqual({ recorded: false });
    expect(await recordRollbackResult(answer('Rollback Failed'))).toEqual({ recorded: false });
    expect(snapshotTable()).toEqual(tableAfterFirstDelivery);
  });

  it('rejects a version 1 detail: the rollback events exist from contract version 1.1 on', async () => {
    const error = await errorFrom(() =>
      recordRollbackResult(answer('Rollback Succeeded', { schemaVersion: '1' })),
    );

    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('schemaVersion');
    expect(taskAnswerCalls()).toBe(0);
  });

  it('rejects an answer whose correlation id names another customer, changing nothing', async () => {
    const before = snapshotTable();
    const error = await errorFrom(() =>
      recordRollbackResult(answer('Rollback Failed', { correlationId: 'v1.1.0/contoso-bank' })),
    );

    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('correlationId v1.1.0/contoso-bank does not name northwind-logistics');
    expect(snapshotTable()).toEqual(before);
    expect(taskAnswerCalls()).toBe(0);
  });
});
