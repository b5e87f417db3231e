import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bundledConfig } from '../../lambdas/core/config.js';
import { type Customer, type Fleet, POLICY_NAMES, type Weekday } from '../../lambdas/core/model.js';
import { planRelease } from '../../lambdas/core/plan.js';
import { planViolations, stepOrderViolations } from './support/plan-invariants.js';

const config = bundledConfig();
const ZONES = [
  'UTC',
  'America/New_York',
  'America/Los_Angeles',
  'Europe/London',
  'Europe/Berlin',
  'Asia/Tokyo',
  'Asia/Kolkata',
  'Australia/Sydney',
  'Pacific/Chatham',
];
const WEEKDAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const windowArbitrary = fc.record({
  timeZone: fc.constantFrom(...ZONES),
  days: fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1, maxLength: 7 }),
  start: fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45))
    .map(([hour, minute]) => `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`),
  durationMinutes: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 1440 })),
});

const fleetArbitrary: fc.Arbitrary<Fleet> = fc
  .array(fc.tuple(fc.constantFrom(...POLICY_NAMES), windowArbitrary), { maxLength: 120 })
  .map((rows) => ({
    customers: rows.map(
      ([policy, maintenanceWindow], index): Customer => ({
        id: `customer-${String(index).padStart(3, '0')}`,
        name: `Customer ${index}`,
        policy,
        currentVersion: 'v1.0.0',
        contacts: [{ name: 'Ops', email: `ops${index}@example.com` }],
        approvers:
          policy === 'enterprise' ? [{ name: 'Approver', email: `approver${index}@example.com` }] : [],
        maintenanceWindow,
      }),
    ),
  }));

// Any start in 2027, to the minute, so phases cross both northern and southern DST changes.
const startArbitrary = fc
  .integer({ min: Date.UTC(2027, 0, 1) / 60_000, max: Date.UTC(2027, 11, 31) / 60_000 })
  .map((minute) => new Date(minute * 60_000).toISOString());

describe('the release plan for any valid fleet', () => {
  it('keeps every promise: one batch each, notice respected, inside the window, before the deadline, nobody dropped', () => {
    fc.assert(
      fc.property(fleetArbitrary, startArbitrary, (fleet, startAt) => {
        const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt });

        expect(planViolations(plan, config, fleet)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('opens every batch at or after the previous batch’s last deployAt plus the report timeout, across phases', () => {
    fc.assert(
      fc.property(fleetArbitrary, startArbitrary, (fleet, startAt) => {
        const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt });

        expect(stepOrderViolations(plan, config)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('reports exactly the customers without a deployment time as unschedulable', () => {
    fc.assert(
      fc.property(fleetArbitrary, startArbitrary, (fleet, startAt) => {
        const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt });

        const withoutTime = plan.customers
          .filter((customer) => customer.deployAt === null)
          .map((each) => each.id);
        expect(plan.unschedulable.map((entry) => entry.id)).toEqual(withoutTime);
      }),
      { numRuns: 100 },
    );
  });

  it('gives batched phases ceil(100 / percent) batches whose sizes differ by at most one', () => {
    fc.assert(
      fc.property(fleetArbitrary, startArbitrary, (fleet, startAt) => {
        const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt });

        for (const phase of plan.phases) {
          const sizes = phase.batches.map((batch) => batch.customers.length);
          const policy = config.policies[phase.policy];
          const count = fleet.customers.filter((customer) => customer.policy === phase.policy).length;
          if (policy.batchSize.mode === 'percent') {
            expect(sizes).toHaveLength(Math.ceil(100 / policy.batchSize.percent));
            expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          } else if (policy.batchSize.mode === 'individual') {
            expect(sizes).toEqual(Array.from({ length: count }, () => 1));
          } else {
            expect(sizes).toEqual([count]);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('is deterministic whatever the order of the fleet file', () => {
    fc.assert(
      fc.property(fleetArbitrary, startArbitrary, (fleet, startAt) => {
        const reversed = { customers: [...fleet.customers].reverse() };

        expect(planRelease({ version: 'v1.1.0', config, fleet: reversed, startAt })).toEqual(
          planRelease({ version: 'v1.1.0', config, fleet, startAt }),
        );
      }),
      { numRuns: 50 },
    );
  });
});
