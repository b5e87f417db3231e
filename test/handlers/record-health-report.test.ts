import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { snapshotTable } from './support/fake-table.js';
import {
  aStandardCustomer,
  deployed,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  givenStep,
  movedOn,
  RELEASE,
  storedCustomer,
  storedStepHealth,
} from './support/given.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';
import { healthReported } from './support/when.js';
import { givenTheTimeIs, resetWorld, restoreRealClock } from './support/world.js';

// A health report counts on its customer's step only when it speaks for this release's deployment of a
// customer the release plans; it is kept on the customer, and as an item of its own only once the
// customer's rollback was asked for (what the check after a rollback reads). Any other report is refused:
// not kept, not counted, but logged and counted as refused, without an error (EventBridge would only retry
// it). A report the contract refuses is an error.

const REQUESTED_AT = '2027-03-13T01:00:00Z';
const NOW = '2027-03-14T06:00:00.000Z';

let logs: CapturedLogs;

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenTheTimeIs(NOW);
  givenStep('standard_2', { total: 2, recorded: 2, deployed: 2 });
  givenCustomer(deploymentRequested(aStandardCustomer({ id: 'northwind-logistics' })));
  givenCustomer(aStandardCustomer({ id: 'not-yet-deployed' }));
  logs = captureLogs();
});
afterEach(() => logs.stop());
afterAll(restoreRealClock);

/** The table without the counts of refused reports: what a refused report must leave as it was. */
const tableExceptRefusalCounts = () =>
  snapshotTable().filter(
    (item) => !String(item.PK).startsWith('HEALTH-REFUSED') && item.SK !== 'HEALTH-REFUSED',
  );

const refusalCounts = () =>
  snapshotTable()
    .filter((item) => String(item.PK).startsWith('HEALTH-REFUSED') || item.SK === 'HEALTH-REFUSED')
    .map(({ PK, SK, ...counts }) => ({ PK, SK, ...counts }));

describe('record-health-report', () => {
  it('keeps a report dated after the deployment was requested and counts it on the step once', async () => {
    // Prepare
    const report = healthReported('northwind-logistics', {
      criticalErrors: 2,
      reportedAt: '2027-03-13T05:00:00Z',
    });

    // Act
    const first = await report.deliver();
    const again = await report.deliver();

    // Assert
    expect(first).toEqual({ recorded: true, counted: true });
    expect(again).toEqual({ recorded: true, counted: false });
    expect(storedStepHealth('standard_2')).toMatchObject({
      criticalErrors: 2,
      customersWithCriticalErrors: { count: 1, ids: ['northwind-logistics'] },
    });
    expect(storedCustomer('northwind-logistics')).toMatchObject({
      firstHealthReportAt: '2027-03-13T05:00:00Z',
      lastHealthReportAt: '2027-03-13T05:00:00Z',
    });
    expect(refusalCounts()).toEqual([]);
    expect(logs.lines().filter((line) => line.level !== 'INFO')).toEqual([]);
    expect(logs.metrics()).toEqual({});
  });

  it('keeps a report of a customer being rolled back as an item of its own, for the check after the rollback', async () => {
    givenCustomer(
      movedOn(
        deployed(aStandardCustomer({ id: 'rolling-back-customer' })),
        'rolling-back',
        'request-rollback',
      ),
    );

    await healthReported('northwind-logistics', { reportedAt: '2027-03-13T05:00:00Z' }).deliver();
    await healthReported('rolling-back-customer', { reportedAt: '2027-03-13T05:00:00Z' }).deliver();

    expect(
      snapshotTable()
        .filter((item) => String(item.SK).startsWith('HEALTH#'))
        .map((item) => item.customerId),
    ).toEqual(['rolling-back-customer']);
  });

  it('counts a report dated at the very instant of the request, and one slightly ahead of the clock', async () => {
    const atRequest = await healthReported('northwind-logistics', {
      criticalErrors: 1,
      reportedAt: REQUESTED_AT,
    }).deliver();
    const aheadWithinSkew = await healthReported('northwind-logistics', {
      criticalErrors: 1,
      reportedAt: '2027-03-14T06:04:59Z',
    }).deliver();

    expect([atRequest, aheadWithinSkew]).toEqual([
      { recorded: true, counted: true },
      { recorded: true, counted: true },
    ]);
    expect(storedStepHealth('standard_2').criticalErrors).toBe(2);
  });

  describe.each([
    {
      refused: 'a report of a release that does not exist',
      customerId: 'northwind-logistics',
      overrides: { version: 'v9.9.9' },
      reason: 'unknown-release',
      countedOn: { PK: 'HEALTH-REFUSED', SK: 'UNKNOWN-RELEASE' },
    },
    {
      refused: 'a report of a customer the release does not plan',
      customerId: 'stranger',
      overrides: {},
      reason: 'unknown-customer',
      countedOn: { PK: `RELEASE#${RELEASE}`, SK: 'HEALTH-REFUSED' },
    },
    {
      refused: 'a report of a customer whose deployment was not requested yet',
      customerId: 'not-yet-deployed',
      overrides: {},
      reason: 'before-deployment',
      countedOn: { PK: `RELEASE#${RELEASE}`, SK: 'HEALTH-REFUSED' },
    },
    {
      refused: 'a report dated before the customer’s deployment was requested',
      customerId: 'northwind-logistics',
      overrides: { reportedAt: '2027-03-13T00:59:59Z' },
      reason: 'before-deployment',
      countedOn: { PK: `RELEASE#${RELEASE}`, SK: 'HEALTH-REFUSED' },
    },
    {
      refused: 'a report dated more than 5 minutes ahead of the clock',
      customerId: 'northwind-logistics',
      overrides: { reportedAt: '2027-03-14T06:05:01Z' },
      reason: 'in-the-future',
      countedOn: { PK: `RELEASE#${RELEASE}`, SK: 'HEALTH-REFUSED' },
    },
  ])('$refused', ({ customerId, overrides, reason, countedOn }) => {
    const deliverIt = () =>
      healthReported(customerId, {
        securityFindings: 4,
        reportedAt: '2027-03-13T05:00:00Z',
        ...overrides,
      }).deliver();

    it(`is refused as ${reason}, without an error, changing nothing`, async () => {
      // Prepare
      const before = tableExceptRefusalCounts();

      // Act
      const result = await deliverIt();

      // Assert
      expect(result).toEqual({ recorded: false, reason });
      expect(tableExceptRefusalCounts()).toEqual(before);
    });

    it('is logged as one JSON line naming the release, the customer and the reason, and counted in a metric', async () => {
      await deliverIt();

      expect(logs.lines()).toEqual([
        expect.objectContaining({
          level: 'WARN',
          message: 'Health report refused',
          release: overrides.version ?? RELEASE,
          customer: customerId,
          reason,
        }),
      ]);
      expect(logs.metrics()).toEqual({ HealthReportsRefused: 1 });
    });

    it('is counted by its reason, again on each delivery', async () => {
      await deliverIt();
      await deliverIt();

      expect(refusalCounts()).toEqual([{ ...countedOn, [reason]: 2 }]);
    });
  });

  it('makes no partition for a release that does not exist', async () => {
    await healthReported('northwind-logistics', { version: 'v9.9.9' }).deliver();

    expect(snapshotTable().filter((item) => String(item.PK) === 'RELEASE#v9.9.9')).toEqual([]);
  });

  describe.each([
    { field: 'latencyChangePercent', value: 1e308, bound: '<=10000' },
    { field: 'latencyChangePercent', value: -101, bound: '>=-100' },
    { field: 'criticalErrors', value: 1_000_001, bound: '<=1000000' },
    { field: 'securityFindings', value: -1, bound: '>=0' },
    { field: 'supportTickets', value: 2.5, bound: 'int' },
    { field: 'errorRatePercent', value: 100.5, bound: '<=100' },
  ])('a report with $field $value, outside the contract', ({ field, value, bound }) => {
    it('is an error that names the field and its bound, changing nothing', async () => {
      // Prepare
      const before = snapshotTable();
      const report = healthReported('northwind-logistics', { [field]: value });

      // Act
      const delivery = report.deliver();

      // Assert
      await expect(delivery).rejects.toMatchObject({ name: 'InvalidTaskInput' });
      await expect(delivery).rejects.toThrow(field);
      await expect(delivery).rejects.toThrow(bound);
      expect(snapshotTable()).toEqual(before);
    });
  });
});
