import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as sendNotices } from '../../lambdas/handlers/send-notices.js';
import { itemsReadByQueries, snapshotTable } from './support/fake-table.js';
import {
  aStandardCustomer,
  givenCustomer,
  givenRelease,
  notYetNoticed,
  RELEASE,
  storedCustomer,
  storedEmailCounts,
} from './support/given.js';
import {
  emailQueueBatches,
  emailsSent,
  errorFrom,
  givenTheQueueRefusesTheNextEmail,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
} from './support/world.js';

const AS_OF = '2027-03-05T09:00:00Z';

/** A customer planned with the release whose advance notice has not gone out yet. */
const aCustomerToNotify = (overrides: Parameters<typeof aStandardCustomer>[0] = {}) =>
  notYetNoticed(aStandardCustomer(overrides));

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenTheTimeIs('2027-03-05T09:00:03.000Z');
});
afterAll(restoreRealClock);

describe('send-notices', () => {
  it('emails every contact of a customer whose notice is due, records when, and counts the email', async () => {
    // Prepare
    givenCustomer(aCustomerToNotify({ id: 'northwind-logistics', noticeAt: '2027-03-05T09:00:00Z' }));

    // Act
    const result = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(result).toEqual({ sent: 1, remaining: false, cursor: null, halted: false });
    expect(emailsSent()).toHaveLength(1);
    expect(emailsSent()[0]?.to).toEqual(['ops@northwind.example.com', 'dana.fischer@northwind.example.com']);
    expect(emailsSent()[0]?.subject).toBe('SecureWatch v1.1.0 is scheduled for Northwind Logistics');
    const customer = storedCustomer('northwind-logistics');
    expect(customer).toMatchObject({
      state: 'noticed',
      noticeSentAt: '2027-03-05T09:00:03.000Z',
      notifiedDeployAt: '2027-03-13T01:00:00Z',
    });
    expect(customer?.history.at(-1)).toEqual({
      state: 'noticed',
      at: '2027-03-05T09:00:03.000Z',
      by: 'send-notices',
      reason: 'told of 2027-03-13T01:00:00Z',
    });
    expect(storedEmailCounts()).toEqual({ 'advance-notice': 1 });
  });

  it('sends one email per due customer', async () => {
    // Prepare
    givenCustomer(aCustomerToNotify({ id: 'northwind-logistics' }));
    givenCustomer(aCustomerToNotify({ id: 'fabrikam', name: 'Fabrikam' }));

    // Act
    const result = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(result.sent).toBe(2);
    expect(emailsSent().map((email) => email.subject)).toEqual(
      expect.arrayContaining([
        'SecureWatch v1.1.0 is scheduled for Fabrikam',
        'SecureWatch v1.1.0 is scheduled for Northwind Logistics',
      ]),
    );
    expect(storedEmailCounts()).toEqual({ 'advance-notice': 2 });
  });

  it('sends at most NOTICES_PER_RUN per run and says whether more remain, and from where', async () => {
    // Prepare
    process.env.NOTICES_PER_RUN = '1';
    givenCustomer(aCustomerToNotify({ id: 'northwind-logistics' }));
    givenCustomer(aCustomerToNotify({ id: 'fabrikam', name: 'Fabrikam' }));

    // Act
    const first = await sendNotices({ release: RELEASE, asOf: AS_OF, cursor: null });
    const second = await sendNotices({ release: RELEASE, asOf: AS_OF, cursor: first.cursor });
    delete process.env.NOTICES_PER_RUN;

    // Assess
    // The cursor is the customer the first run told; the second run tells the other.
    expect(first).toEqual({ sent: 1, remaining: true, cursor: expect.any(String), halted: false });
    expect(second).toEqual({ sent: 1, remaining: false, cursor: null, halted: false });
    const told = emailsSent().map((email) => email.subject.replace(/^.* for /, ''));
    expect(told[0]).toBe(first.cursor === 'fabrikam' ? 'Fabrikam' : 'Northwind Logistics');
    expect([...told].sort()).toEqual(['Fabrikam', 'Northwind Logistics']);
  });

  it('notices a fleet larger than one run exactly once each, every run reading on from the last one', async () => {
    // Prepare: 25 due customers, 5 not due yet interleaved, 4 notices per run
    process.env.NOTICES_PER_RUN = '4';
    const ids = Array.from({ length: 30 }, (_, index) => `customer-${String(index).padStart(2, '0')}`);
    for (const [index, id] of ids.entries())
      givenCustomer(
        aCustomerToNotify({ id, name: id, noticeAt: index % 6 === 5 ? '2027-03-06T09:00:00Z' : AS_OF }),
      );

    // Act: the state machine's loop, with one run retried (same input) half way
    const runs: Awaited<ReturnType<typeof sendNotices>>[] = [];
    let cursor: string | null = null;
    do {
      const run = await sendNotices({ release: RELEASE, asOf: AS_OF, cursor });
      if (runs.length === 3) await sendNotices({ release: RELEASE, asOf: AS_OF, cursor });
      runs.push(run);
      cursor = run.cursor;
    } while (runs.at(-1)?.remaining);
    delete process.env.NOTICES_PER_RUN;

    // Assess
    const noticed = emailsSent().map((email) => email.subject.replace(/^.* for /, ''));
    // Each due customer exactly once (in the order of the release's partitions, not by id).
    expect([...noticed].sort()).toEqual(ids.filter((_, index) => index % 6 !== 5));
    expect(runs.every((run) => run.sent <= 4)).toBe(true);
    // Each run reads from its cursor on: about one read per customer, not the partition each run
    // (7 runs re-reading 30 customers would read 210; the retried run re-reads its 5).
    expect(itemsReadByQueries()).toBeLessThanOrEqual(ids.length + runs.length * 2 + 5);
  });

  it('sends no email when run a second time with the same input', async () => {
    // Prepare
    givenCustomer(aCustomerToNotify());
    await sendNotices({ release: RELEASE, asOf: AS_OF });
    const tableAfterFirstRun = snapshotTable();

    // Act
    const result = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(result).toEqual({ sent: 0, remaining: false, cursor: null, halted: false });
    expect(emailsSent()).toHaveLength(1);
    expect(snapshotTable()).toEqual(tableAfterFirstRun);
  });

  it('sends nothing to a customer whose notice is not due yet', async () => {
    // Prepare
    givenCustomer(aCustomerToNotify({ noticeAt: '2027-03-05T09:00:01Z' }));

    // Act
    const result = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(result.sent).toBe(0);
    expect(emailsSent()).toEqual([]);
    expect(storedCustomer('northwind-logistics')?.noticeClaimedAt).toBeUndefined();
  });

  it('sends nothing to a customer whose policy gives no advance notice', async () => {
    // Prepare
    givenCustomer(aCustomerToNotify({ id: 'demo-sales-us', policy: 'demo', phase: 'demo', noticeAt: null }));

    // Act
    const result = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(result.sent).toBe(0);
    expect(emailsSent()).toEqual([]);
  });

  it('releases the claim and rethrows when the email queue refuses the email, so a retry sends it', async () => {
    // Prepare
    givenCustomer(aCustomerToNotify());
    givenTheQueueRefusesTheNextEmail('QueueDoesNotExist', 'The specified queue does not exist.');

    // Act
    const error = await errorFrom(() => sendNotices({ release: RELEASE, asOf: AS_OF }));
    const retry = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(error.name).toBe('QueueDoesNotExist');
    expect(retry.sent).toBe(1);
    expect(emailsSent()).toHaveLength(1);
    expect(storedEmailCounts()).toEqual({ 'advance-notice': 1 });
  });

  it('queues the notices of many due customers in one queue call per ten', async () => {
    // Prepare
    for (let index = 0; index < 25; index++)
      givenCustomer(aCustomerToNotify({ id: `customer-${String(index).padStart(2, '0')}` }));

    // Act
    const result = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(result.sent).toBe(25);
    expect(emailQueueBatches().map((ids) => ids.length)).toEqual([10, 10, 5]);
    expect(storedEmailCounts()).toEqual({ 'advance-notice': 25 });
    expect(storedCustomer('customer-24')?.noticeSentAt).toBeDefined();
  });

  it('keeps the customers queued before the queue refused, and gives the others back to the retry', async () => {
    // Prepare
    const ids = Array.from({ length: 25 }, (_, index) => `customer-${String(index).padStart(2, '0')}`);
    for (const id of ids) givenCustomer(aCustomerToNotify({ id }));
    givenTheQueueRefusesTheNextEmail('RequestThrottled', 'Request is throttled.', 10);

    // Act
    const error = await errorFrom(() => sendNotices({ release: RELEASE, asOf: AS_OF }));
    const retry = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(error.name).toBe('Transient');
    expect(retry.sent).toBe(15);
    expect(emailsSent()).toHaveLength(25);
    expect(ids.filter((id) => storedCustomer(id)?.noticeSentAt === undefined)).toEqual([]);
    expect(storedEmailCounts()).toEqual({ 'advance-notice': 25 });
  });

  it('gives a throttled email queue the retryable error name', async () => {
    // Prepare
    givenCustomer(aCustomerToNotify());
    givenTheQueueRefusesTheNextEmail('RequestThrottled', 'Request is throttled.');

    // Act
    const error = await errorFrom(() => sendNotices({ release: RELEASE, asOf: AS_OF }));

    // Assess
    expect(error.name).toBe('Transient');
    expect(storedCustomer('northwind-logistics')?.noticeClaimedAt).toBeUndefined();
  });

  it('sends no notice, and claims none, while the release is halted', async () => {
    // Prepare
    givenRelease('halted');
    givenCustomer(aCustomerToNotify());

    // Act
    const result = await sendNotices({ release: RELEASE, asOf: AS_OF });

    // Assess
    expect(result).toEqual({
      sent: 0,
      remaining: false,
      cursor: null,
      halted: true,
      reason: 'customer reports under investigation',
    });
    expect(emailsSent()).toEqual([]);
    expect(storedCustomer('northwind-logistics')).toMatchObject({ state: 'planned' });
    expect(storedCustomer('northwind-logistics')?.noticeClaimedAt).toBeUndefined();
  });

  it('refuses an input without a timestamp as InvalidTaskInput', async () => {
    // Act
    const error = await errorFrom(() => sendNotices({ release: RELEASE, asOf: 'tomorrow' }));

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('asOf');
  });
});
