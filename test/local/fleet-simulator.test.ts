import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../local/clock.js';
import type { LocalEventBus } from '../../local/event-bus.js';
import { FleetSimulator, scenarioSchema } from '../../local/fleet-simulator.js';

const policies: Record<string, string> = { 'acme-corporation': 'standard', 'techstart-inc': 'startup' };

function simulatorFor(scenario: unknown): FleetSimulator {
  const bus = { listen: () => {} } as unknown as LocalEventBus;
  const clock = new SimulatedClock({ startAt: '2027-03-01T09:00:00Z', msPerSimulatedDay: 0 });
  return new FleetSimulator(bus, clock, scenarioSchema.parse(scenario), (id) => policies[id]);
}

describe('the simulated fleet', () => {
  it('deploys successfully after 30 simulated minutes unless a scenario says otherwise', () => {
    expect(simulatorFor({}).behaviourFor('acme-corporation')).toMatchObject({
      outcome: 'succeed',
      delayMinutes: 30,
    });
  });

  it('applies the first scenario entry that selects the customer, by id or by policy', () => {
    const simulator = simulatorFor({
      deployments: [
        { select: { customer: 'techstart-inc' }, outcome: 'silent' },
        { select: { policy: 'standard' }, outcome: 'fail', reason: 'migration failed' },
        { select: { share: 1 }, latencyChangePercent: 25 },
      ],
    });

    expect(simulator.behaviourFor('techstart-inc').outcome).toBe('silent');
    expect(simulator.behaviourFor('acme-corporation')).toMatchObject({
      outcome: 'fail',
      reason: 'migration failed',
    });
  });

  it('picks the same customers for a share on every run', () => {
    const share = { deployments: [{ select: { share: 0.5 }, outcome: 'fail' }] };
    const ids = Array.from({ length: 200 }, (_, index) => `customer-${index}`);
    const first = ids.filter((id) => simulatorFor(share).behaviourFor(id).outcome === 'fail');
    const second = ids.filter((id) => simulatorFor(share).behaviourFor(id).outcome === 'fail');

    expect(first).toEqual(second);
    expect(first.length).toBeGreaterThan(60);
    expect(first.length).toBeLessThan(140);
  });

  it('refuses a scenario with an unknown selector, naming the field', () => {
    const parsed = scenarioSchema.safeParse({ deployments: [{ select: { region: 'eu' } }] });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path.join('.')).toContain('deployments.0.select');
  });

  it('refuses a scenario whose health reports the event contract would refuse, naming the field', () => {
    const parsed = scenarioSchema.safeParse({
      deployments: [{ select: { share: 1 }, latencyChangePercent: 1e308 }],
    });

    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'deployments.0.latencyChangePercent',
    ]);
  });
});

describe('the simulated fleet’s health reports', () => {
  const START = '2027-03-01T09:00:00.000Z';
  const request = (customerId: string) => ({
    schemaVersion: '1',
    correlationId: `v1.1.0/${customerId}`,
    release: 'v1.1.0',
    version: 'v1.1.0',
    customerId,
    phase: 'startup',
    batch: 1,
    requestedAt: START,
    reportBy: '2027-03-02T09:00:00.000Z',
  });

  /** Runs the fleet until `until`, answering one deployment request; returns what it put on the bus. */
  async function reportsOf(scenario: unknown, customerId: string, until: string) {
    const put: { detailType: string; detail: Record<string, unknown> }[] = [];
    let listener: ((event: unknown) => void) | undefined;
    const bus = {
      listen: (callback: (event: unknown) => void) => {
        listener = callback;
      },
      putEvents: (entries: { DetailType: string; Detail: string }[]) => {
        for (const entry of entries)
          put.push({ detailType: entry.DetailType, detail: JSON.parse(entry.Detail) });
      },
    } as unknown as LocalEventBus;
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    new FleetSimulator(bus, clock, scenarioSchema.parse(scenario), (id) => policies[id]);
    listener?.({ 'detail-type': 'Deployment Requested', detail: request(customerId) });
    await clock.until(until);
    clock.stop();
    return put;
  }

  it('answers first, then reports health 10 minutes later and every day while the rollback window is open', async () => {
    const put = await reportsOf({}, 'techstart-inc', '2027-03-20T00:00:00.000Z');

    expect(put[0]?.detailType).toBe('Deployment Succeeded');
    const reportedAt = put
      .filter((event) => event.detailType === 'Health Reported')
      .map((event) => event.detail.reportedAt);
    // Startup: 7 days.
    expect(reportedAt).toEqual(
      Array.from({ length: 7 }, (_, day) =>
        new Date(Date.parse('2027-03-01T09:40:00.000Z') + day * 86_400_000).toISOString(),
      ),
    );
  });

  it('reports database corruption and a customer’s rollback request in contract 1.1, the request once', async () => {
    const put = await reportsOf(
      {
        deployments: [
          {
            select: { customer: 'techstart-inc' },
            databaseCorruption: true,
            rollbackRequested: { by: 'cto@techstart.example.com', reason: 'exports broken' },
          },
        ],
      },
      'techstart-inc',
      '2027-03-03T00:00:00.000Z',
    );
    const reports = put
      .filter((event) => event.detailType === 'Health Reported')
      .map((event) => event.detail);

    expect(reports[0]).toMatchObject({
      schemaVersion: '1.1',
      databaseCorruption: true,
      rollbackRequested: { by: 'cto@techstart.example.com', reason: 'exports broken' },
    });
    expect(reports[1]).toMatchObject({ schemaVersion: '1.1', databaseCorruption: true });
    expect(reports[1]).not.toHaveProperty('rollbackRequested');
  });

  it('goes silent after one report, or never reports, as the scenario says', async () => {
    const once = await reportsOf(
      { deployments: [{ select: { customer: 'techstart-inc' }, healthReports: 'once' }] },
      'techstart-inc',
      '2027-03-10T00:00:00.000Z',
    );
    const never = await reportsOf(
      { deployments: [{ select: { customer: 'techstart-inc' }, healthReports: 'never' }] },
      'techstart-inc',
      '2027-03-10T00:00:00.000Z',
    );

    expect(once.filter((event) => event.detailType === 'Health Reported')).toHaveLength(1);
    expect(never.map((event) => event.detailType)).toEqual(['Deployment Succeeded']);
  });

  it('accepts an operator’s rollback of a named customer at a day, and refuses one that names nobody', () => {
    const by = 'release-manager@securewatch.example.com';

    expect(
      scenarioSchema.parse({
        operations: [{ atDay: 2, rollback: { customer: 'techstart-inc', reason: 'r', by } }],
      }).operations,
    ).toHaveLength(1);
    expect(
      scenarioSchema.safeParse({ operations: [{ atDay: 2, rollback: { reason: 'r', by } }] }).success,
    ).toBe(false);
  });
});
