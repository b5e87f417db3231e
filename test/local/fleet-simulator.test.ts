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
