import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { bundledConfig, bundledFleet } from '../../lambdas/core/config.js';
import { isInsideWindow } from '../../lambdas/core/maintenance-window.js';
import type { PlannedPhase } from '../../lambdas/core/model.js';
import { planRelease } from '../../lambdas/core/plan.js';
import { planViolations } from './support/plan-invariants.js';

const START = '2027-03-01T09:00:00Z';
const config = bundledConfig();
const fleet = bundledFleet(config.policies);
const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt: START });

const dayOfRelease = (iso: string) => DateTime.fromISO(iso).diff(DateTime.fromISO(START), 'days').days;

function phase(name: string): PlannedPhase {
  const found = plan.phases.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no phase ${name}`);
  return found;
}

function customer(id: string) {
  const found = plan.customers.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no customer ${id}`);
  return found;
}

describe('the release plan for the sample fleet', () => {
  it('keeps every promise of the plan', () => {
    expect(planViolations(plan, config, fleet)).toEqual([]);
  });

  it('runs the phases in the documented order on the documented days', () => {
    const days = plan.phases.map((each) => [each.name, dayOfRelease(each.startAt), dayOfRelease(each.endAt)]);

    expect(days).toEqual([
      ['demo', 0, 1],
      ['startup', 1, 8],
      ['standard', 8, 22],
      ['enterprise', 22, 52],
    ]);
  });

  it('opens the standard batches on days 8, 11, 15 and 18', () => {
    expect(phase('standard').batches.map((batch) => dayOfRelease(batch.deployAt))).toEqual([8, 11, 15, 18]);
  });

  it('holds back the first startup batch until its 3-day notice has elapsed', () => {
    expect(phase('startup').batches.map((batch) => dayOfRelease(batch.deployAt))).toEqual([3, 4]);
  });

  it('splits startup in halves, standard in quarters and enterprise one by one', () => {
    const sizes = plan.phases.map((each) => each.batches.map((batch) => batch.customers.length));

    expect(sizes).toEqual([[4], [5, 5], [5, 6, 5, 6], [1, 1, 1, 1, 1, 1, 1, 1]]);
  });

  it('orders customers by id within a phase', () => {
    const ids = phase('standard').batches.flatMap((batch) => batch.customers);

    expect(ids).toEqual([...ids].sort());
  });

  it('deploys the demo environments at the release start without notice', () => {
    expect(customer('demo-sales-us')).toMatchObject({
      noticeAt: null,
      deployAt: START,
      approvalRequired: false,
    });
  });

  it('gives ACME Corporation its 7-day notice at the release start and deploys it in its window', () => {
    expect(customer('acme-corporation')).toMatchObject({
      phase: 'standard',
      batch: 1,
      noticeAt: START,
      deployAt: '2027-03-09T09:00:00Z',
      deadlineAt: '2027-04-01T09:00:00Z',
    });
  });

  it('asks for approval for FinanceFirst Bank and deploys it in its Sunday window in New York', () => {
    expect(customer('financefirst-bank')).toMatchObject({
      phase: 'enterprise',
      approvalRequired: true,
      deployAt: '2027-04-11T05:00:00Z',
      timeZone: 'America/New_York',
    });
  });

  it('starts every enterprise deployment inside that customer’s window', () => {
    const enterprise = fleet.customers.filter((each) => each.policy === 'enterprise');

    for (const each of enterprise) {
      expect(isInsideWindow(each.maintenanceWindow, customer(each.id).deployAt ?? '')).toBe(true);
    }
  });

  it('never deploys before the notice lead time has fully elapsed', () => {
    for (const each of plan.customers.filter((planned) => planned.noticeAt)) {
      const lead = config.policies[each.policy].advanceNoticeDays;
      expect(dayOfRelease(each.deployAt ?? '') - dayOfRelease(each.noticeAt ?? '')).toBeGreaterThanOrEqual(
        lead,
      );
    }
  });

  it('schedules every sample customer', () => {
    expect(plan.unschedulable).toEqual([]);
  });

  it('gives the same plan for the same input', () => {
    const again = planRelease({ version: 'v1.1.0', config, fleet, startAt: START });
    const shuffled = planRelease({
      version: 'v1.1.0',
      config,
      fleet: { customers: [...fleet.customers].reverse() },
      startAt: DateTime.fromISO('2027-03-01T10:00:00+01:00'),
    });

    expect(again).toEqual(plan);
    expect(shuffled).toEqual(plan);
  });

  it('reports a customer whose window never opens before the deadline, and keeps it in its batch', () => {
    const tinyFleet = {
      customers: fleet.customers.map((each) =>
        each.id === 'demo-training'
          ? {
              ...each,
              maintenanceWindow: {
                timeZone: 'UTC',
                days: ['sun' as const],
                start: '03:00',
                durationMinutes: 30,
              },
            }
          : each,
      ),
    };

    const tinyPlan = planRelease({ version: 'v1.1.0', config, fleet: tinyFleet, startAt: START });

    expect(tinyPlan.unschedulable).toEqual([
      {
        id: 'demo-training',
        reason:
          'no maintenance window opens between 2027-03-01T09:00Z and the policy deadline 2027-03-02T09:00Z',
      },
    ]);
    expect(tinyPlan.phases[0]?.batches[0]?.customers).toContain('demo-training');
  });

  it('refuses to plan a version that is not a minor release', () => {
    expect(() => planRelease({ version: 'v1.0.1', config, fleet, startAt: START })).toThrow('patch release');
  });
});
