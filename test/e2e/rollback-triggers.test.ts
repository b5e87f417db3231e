import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../../local/fleet-simulator.js';
import { type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// The rollback triggers on the local runtime, from the simulated fleet's reports and an operator's requests:
// each request is recorded (its history names the trigger) and the rollback workflow rolls the customer
// back (the simulated platform answers every Rollback Requested with success).

const START = '2027-03-01T09:00:00Z';

const customer = (outcome: RehearsalOutcome, id: string) => {
  const found = outcome.customers.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no customer ${id}`);
  return found;
};
const rollbackRequest = (outcome: RehearsalOutcome, id: string) =>
  customer(outcome, id).history.find((entry) => entry.state === 'rolling-back');

describe('the scenario rollback-triggers.json', () => {
  let outcome: RehearsalOutcome;
  beforeAll(async () => {
    outcome = await rehearse({
      version: 'v1.1.0',
      startAt: START,
      msPerDay: 0,
      autoApprove: true,
      scenario: loadScenario('scenarios/rollback-triggers.json'),
    });
  });

  it('rolls TechStart (+30 % latency) back automatically, and the startup gate pauses the release', () => {
    expect(customer(outcome, 'techstart-inc').state).toBe('rolled-back');
    expect(rollbackRequest(outcome, 'techstart-inc')).toMatchObject({
      by: 'record-health-report',
      reason: "performance-degradation: latency +30% against the customer's baseline (limit 20%)",
    });
    expect(outcome.status).toBe('PAUSED');
    expect(outcome.pausedAt?.reason).toContain('techstart-inc');
  });

  it('rolls back a demo customer that asks for it, in the name of the person who asked', () => {
    expect(rollbackRequest(outcome, 'demo-sales-us')).toMatchObject({
      by: 'sales-lead@securewatch.example.com',
      reason:
        'customer-request: requested by sales-lead@securewatch.example.com: demo data lost its dashboards',
    });
  });

  it('rolls back a demo customer that reports database corruption', () => {
    expect(rollbackRequest(outcome, 'demo-sales-emea')?.reason).toBe(
      'database-corruption: database corruption reported',
    );
  });

  it('rolls back the demo customer an operator names inside its one-day window', () => {
    expect(rollbackRequest(outcome, 'demo-sales-apac')).toMatchObject({
      at: '2027-03-01T21:00:00.000Z',
      by: 'release-manager@securewatch.example.com',
      reason: 'operator: sales demo needs the previous version',
    });
  });

  it('refuses the operator’s request after the window, with the reason in the customer’s history', () => {
    const training = customer(outcome, 'demo-training');

    expect(training.state).toBe('deployed');
    expect(training.history.at(-1)).toMatchObject({
      state: 'deployed',
      at: '2027-03-04T09:00:00.000Z',
      by: 'release-manager@securewatch.example.com',
      reason: expect.stringMatching(
        /^rollback refused \(operator: training material not updated\): the 1-day rollback window .* forward fix only$/,
      ),
    });
  });

  it('reports the release’s quality against its limits: the rollback rate and TechStart’s latency breach them', () => {
    expect(outcome.quality.figures).toMatchObject({ rollbacks: 4, performanceImpactPercent: 30 });
    expect(outcome.quality.breaches).toEqual([
      expect.stringMatching(/^release rollback rate [\d.]+% \(4 of \d+ deployments\) exceeds 2%$/),
      'release performance impact 30% exceeds 5%',
    ]);
  });

  it('asks no other customer to roll back', () => {
    const rolling = outcome.customers.filter((each) => each.state === 'rolled-back').map((each) => each.id);

    expect(rolling.sort()).toEqual(['demo-sales-apac', 'demo-sales-emea', 'demo-sales-us', 'techstart-inc']);
  });
});
