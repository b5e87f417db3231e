import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { bundledConfig } from '../../lambdas/core/config.js';
import { isInsideWindow } from '../../lambdas/core/maintenance-window.js';
import type {
  Fleet,
  MaintenanceWindow,
  PlannedPhase,
  ReleasePlan,
  Weekday,
} from '../../lambdas/core/model.js';
import { planRelease } from '../../lambdas/core/plan.js';
import { scheduleOf } from '../../lambdas/core/rollout-shape.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS, ONE_AT_A_TIME_GAP_HOURS } from '../../lambdas/core/timeouts.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { planViolations, stepOrderViolations } from './support/plan-invariants.js';

const START = '2027-03-01T09:00:00Z';
const config = bundledConfig();
const fleet = sampleFleet(config.policies);
const plan = planRelease({ version: 'v1.1.0', config, fleet, startAt: START });

const dayOfRelease = (iso: string) => DateTime.fromISO(iso).diff(DateTime.fromISO(START), 'days').days;

function phase(name: string, of: ReleasePlan = plan): PlannedPhase {
  const found = of.phases.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no phase ${name}`);
  return found;
}

function customer(id: string, of: ReleasePlan = plan) {
  const found = of.customers.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no customer ${id}`);
  return found;
}

/** One 60-minute window a week, in UTC. */
const weekly = (day: Weekday, start: string): MaintenanceWindow => ({
  timeZone: 'UTC',
  days: [day],
  start,
  durationMinutes: 60,
});

/** The sample fleet with some customers' windows replaced. */
function fleetWithWindows(windows: Record<string, MaintenanceWindow>): Fleet {
  return {
    customers: fleet.customers.map((each) =>
      windows[each.id] ? { ...each, maintenanceWindow: windows[each.id] as MaintenanceWindow } : each,
    ),
  };
}

const planFor = (windows: Record<string, MaintenanceWindow>) =>
  planRelease({ version: 'v1.1.0', config, fleet: fleetWithWindows(windows), startAt: START });

describe('the release plan for the sample fleet', () => {
  it('keeps every promise of the plan', () => {
    expect(planViolations(plan, config, fleet)).toEqual([]);
    expect(stepOrderViolations(plan, config)).toEqual([]);
  });

  it('runs the phases in the documented order on the documented days', () => {
    const days = plan.phases.map((each) => [each.name, dayOfRelease(each.startAt), dayOfRelease(each.endAt)]);

    expect(days.slice(0, 3)).toEqual([
      ['demo', 0, 1],
      ['startup', 1, 8],
      ['standard', 8, 22],
    ]);
    expect(days[3]?.slice(0, 2)).toEqual(['enterprise', 22]);
  });

  it('ends the enterprise testing period when its last deployment, after day 52, has been reported', () => {
    expect(customer('northwind-federal').deployAt).toBe('2027-04-24T01:00:00Z');
    expect(phase('enterprise').endAt).toBe('2027-04-24T07:00:00Z');
    expect(plan.endAt).toBe('2027-04-24T07:00:00Z');
  });

  it('deploys enterprise customers one at a time, each gated before the next one starts', () => {
    const enterprise = phase('enterprise').batches.map((batch) => customer(batch.customers[0] ?? ''));
    const starts = enterprise.map((each) => Date.parse(each.deployAt ?? '')).sort((a, b) => a - b);

    for (let index = 1; index < starts.length; index++) {
      const gapHours = ((starts[index] ?? 0) - (starts[index - 1] ?? 0)) / 3_600_000;
      expect(gapHours).toBeGreaterThanOrEqual(ONE_AT_A_TIME_GAP_HOURS);
    }
  });

  it('shares a weekend between enterprise customers whose windows differ, keeping them apart', () => {
    expect(customer('borealis-health').deployAt).toBe('2027-03-27T21:00:00Z');
    expect(customer('atlas-insurance-group').deployAt).toBe('2027-03-28T04:00:00Z');
  });

  it('says which enterprise customers deploy after the phase ends, and why', () => {
    expect(plan.late).toEqual([
      {
        id: 'northwind-federal',
        reason:
          'deploys after the enterprise phase ends (2027-04-22T09:00Z): its first window from its day of the phase is after the end',
      },
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

  it('deploys the demo environments from the release start, a minute apart, without notice', () => {
    const demo = plan.customers.filter((each) => each.policy === 'demo');

    expect(demo.map((each) => [each.id, each.deployAt])).toEqual([
      ['demo-sales-apac', '2027-03-01T09:00:00Z'],
      ['demo-sales-emea', '2027-03-01T09:01:00Z'],
      ['demo-sales-us', '2027-03-01T09:02:00Z'],
      ['demo-training', '2027-03-01T09:03:00Z'],
    ]);
    expect(customer('demo-sales-us')).toMatchObject({ noticeAt: null, approvalRequired: false });
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

  it('waits six hours, the deployment report timeout, after a step’s last deployment', () => {
    expect(DEPLOYMENT_REPORT_TIMEOUT_HOURS).toBe(6);
  });

  it('refuses to plan a version that is not a minor release', () => {
    expect(() => planRelease({ version: 'v1.0.1', config, fleet, startAt: START })).toThrow('patch release');
  });
});

describe('a batch opens only once the previous step is done', () => {
  it('pushes the next batch past a customer waiting for a late window, by the report timeout', () => {
    // ACME (standard batch 1, opens Tue 03-09) now has one window a week, Fridays 12:00 UTC.
    const windows = { 'acme-corporation': weekly('fri', '12:00') };
    const late = planFor(windows);

    expect(customer('acme-corporation', late).deployAt).toBe('2027-03-12T12:00:00Z');
    expect(phase('standard', late).batches.map((batch) => batch.deployAt)).toEqual([
      '2027-03-09T09:00:00Z',
      '2027-03-12T18:00:00Z',
      '2027-03-16T09:00:00Z',
      '2027-03-19T09:00:00Z',
    ]);
    // Cobalt (batch 2) had its Tokyo window open at 16:00; it now deploys when the batch opens.
    expect(customer('cobalt-manufacturing').deployAt).toBe('2027-03-12T16:00:00Z');
    expect(customer('cobalt-manufacturing', late).deployAt).toBe('2027-03-12T18:00:00Z');
    expect(planViolations(late, config, fleetWithWindows(windows))).toEqual([]);
    expect(stepOrderViolations(late, config)).toEqual([]);
  });

  it('pushes the end of the phase and the next phase’s first batch across the phase boundary', () => {
    // TechStart (startup batch 2, opens Fri 03-05) deploys Tue 03-09 06:00, three hours before day 8.
    const late = planFor({ 'techstart-inc': weekly('tue', '06:00') });

    expect(customer('techstart-inc', late).deployAt).toBe('2027-03-09T06:00:00Z');
    expect(phase('startup', late).endAt).toBe('2027-03-09T12:00:00Z');
    expect(phase('standard', late).startAt).toBe('2027-03-09T12:00:00Z');
    expect(phase('standard', late).batches[0]?.deployAt).toBe('2027-03-09T12:00:00Z');
    // ACME's New York window (06:00–10:00 UTC) has closed by then: it moves to the next night's.
    expect(customer('acme-corporation', late).deployAt).toBe('2027-03-10T06:00:00Z');
    const schedule = scheduleOf(late, config);
    expect(schedule.phases.startup?.endAt).toBe('2027-03-09T12:00:00Z');
    expect(schedule.steps.standard_1?.opensAt).toBe('2027-03-09T12:00:00Z');
  });

  it('opens the one-by-one phase, all its customers together, only after the last batch before it', () => {
    // Summit Sports (standard batch 4, opens Fri 03-19) deploys Tue 03-23 08:00, on day 22.
    const late = planFor({ 'summit-sports': weekly('tue', '08:00') });

    expect(phase('standard', late).endAt).toBe('2027-03-23T14:00:00Z');
    expect(phase('enterprise', late).startAt).toBe('2027-03-23T14:00:00Z');
    expect(scheduleOf(late, config).steps.enterprise?.opensAt).toBe('2027-03-23T14:00:00Z');
    expect(phase('enterprise', late).batches[0]?.deployAt).toBe('2027-03-23T14:00:00Z');
    // Later enterprise customers keep their own days in the phase.
    expect(phase('enterprise', late).batches.slice(1)).toEqual(phase('enterprise').batches.slice(1));
  });

  it('never moves a customer past its policy deadline: it is listed unschedulable instead', () => {
    // Bytewise (startup batch 1) deploys Sun 03-07 12:00, so batch 2 opens at 18:00 — after TechStart's
    // only window before the startup deadline (Fri 03-05 09:00; the next is a week later).
    const windows = { 'bytewise-labs': weekly('sun', '12:00'), 'techstart-inc': weekly('fri', '09:00') };
    const late = planFor(windows);

    expect(phase('startup', late).batches[1]?.deployAt).toBe('2027-03-07T18:00:00Z');
    expect(customer('techstart-inc', late).deployAt).toBeNull();
    expect(late.unschedulable).toEqual([
      {
        id: 'techstart-inc',
        reason:
          'no maintenance window opens between 2027-03-07T18:00Z and the policy deadline 2027-03-09T09:00Z',
      },
    ]);
    expect(phase('startup', late).batches[1]?.customers).toContain('techstart-inc');
    expect(planViolations(late, config, fleetWithWindows(windows))).toEqual([]);
    expect(stepOrderViolations(late, config)).toEqual([]);
  });
});
