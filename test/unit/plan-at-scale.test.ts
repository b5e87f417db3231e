import { describe, expect, it } from 'vitest';
import { generatedFleet } from '../../bench/fleet.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import type { Config, ReleasePlan } from '../../lambdas/core/model.js';
import { planRelease } from '../../lambdas/core/plan.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { planViolations, stepOrderViolations } from './support/plan-invariants.js';

const config = bundledConfig();
const START = '2027-03-01T09:00:00Z';
const fleet = generatedFleet(sampleFleet(config.policies), 10_000);
const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt: START });

function busiestInstant(of: ReleasePlan): number {
  const counts = new Map<string, number>();
  for (const customer of of.customers) {
    if (customer.deployAt) counts.set(customer.deployAt, (counts.get(customer.deployAt) ?? 0) + 1);
  }
  return Math.max(...counts.values());
}

const withStagger = (seconds: number): Config => ({
  ...config,
  release: { ...config.release, deploymentStaggerSeconds: seconds },
});

describe('the release plan for 10,000 customers', () => {
  it('plans every customer once, inside its window, before its deadline, after its notice', () => {
    expect(plan.customers).toHaveLength(10_000);
    expect(planViolations(plan, config, fleet)).toEqual([]);
  });

  it('opens every step only once the step before it is done, in workflow order', () => {
    expect(stepOrderViolations(plan, config)).toEqual([]);
  });

  it('spreads customers sharing a window and a batch a minute apart', () => {
    const demo = plan.customers.filter((customer) => customer.policy === 'demo');
    const instants = new Set(demo.map((customer) => customer.deployAt));

    expect(demo.length).toBeGreaterThan(900);
    expect(instants.size).toBe(900);
    expect([...instants].sort().slice(0, 2)).toEqual(['2027-03-01T09:00:00Z', '2027-03-01T09:01:00Z']);
  });

  it('asks no instant for more than a handful of deployments, where one instant took a whole batch', () => {
    const together = planRelease({ version: 'v1.1.0', config: withStagger(0), fleet, startAt: START });

    expect(busiestInstant(together)).toBeGreaterThan(900);
    expect(busiestInstant(plan)).toBeLessThanOrEqual(10);
  });

  it('wraps round to the window start, never past its end, when a window has fewer minutes than customers', () => {
    const hourly = withStagger(3600);
    const wrapped = planRelease({ version: 'v1.1.0', config: hourly, fleet, startAt: START });

    expect(planViolations(wrapped, hourly, fleet)).toEqual([]);
    expect(stepOrderViolations(wrapped, hourly)).toEqual([]);
  });

  it('deploys everyone sharing a window at one instant with a stagger of 0', () => {
    const together = planRelease({ version: 'v1.1.0', config: withStagger(0), fleet, startAt: START });
    const demo = together.customers.filter((customer) => customer.policy === 'demo');

    expect(new Set(demo.map((customer) => customer.deployAt))).toEqual(new Set([START]));
  });
});
