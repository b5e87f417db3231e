import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordDeploymentResult, requestDeployment } from '../../lambdas/application/deployments.js';
import { evaluateGateOf } from '../../lambdas/application/gates.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { takeOverCustomers, takeoverPreview } from '../../lambdas/application/overlap.js';
import { planAndRecordRelease } from '../../lambdas/application/plan.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { putApproval } from '../../lambdas/store/approvals.js';
import {
  applyTransition,
  type CustomerRecord,
  getCustomer,
  listCustomers,
  type PlannedCustomerRecord,
  parkRollout,
  putCustomerIfAbsent,
} from '../../lambdas/store/customers.js';
import { getDeploymentClaim } from '../../lambdas/store/deployment-claims.js';
import { getStep, putStepIfAbsent, setStepWaitToken } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { importSampleFleet, startReleaseTable } from './support/release-table.js';

/** The release execution's planning tasks in turn: plan, write every chunk, open the release. */
const planRelease = ({ version, startAt }: { version: string; startAt: string }) =>
  planAndRecordRelease(version, startAt);

// Two releases planned into one table, as on AWS when v1.2.0 starts a day after v1.1.0: the newer one takes
// over the customers the older one has not asked to deploy yet, and no customer is deployed by both at
// once or downgraded — with the racers really racing on dynalite.

const OLDER = 'v1.1.0';
const NEWER = 'v1.2.0';
const OLDER_START = '2027-03-01T09:00:00Z';
const NEWER_START = '2027-03-02T09:00:00Z';
const RACERS = 10;
const events = mockClient(EventBridgeClient);
const sfn = mockClient(SFNClient);
let database: LocalDynamoDb;
let time = OLDER_START;

beforeAll(async () => {
  database = await startReleaseTable({ EVENT_BUS_NAME: 'securewatch-releases' });
  await importSampleFleet();
  useClock({ now: () => time });
  resetCalls();
});

afterAll(async () => {
  useRealClock();
  events.restore();
  sfn.restore();
  resetClients();
  await database.stop();
});

/** The bus takes every event, Step Functions every answer; the calls are recorded afresh. */
function resetCalls(): void {
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  sfn.reset();
  sfn.resolves({});
}

/** The `Deployment Requested` events published, as (release, customer) pairs. */
function deploymentsRequested(): { release: string; customerId: string }[] {
  return events
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .filter((entry) => entry.DetailType === 'Deployment Requested')
    .map((entry) => {
      const { release, customerId } = JSON.parse(entry.Detail ?? '{}');
      return { release, customerId };
    });
}

function tokensAnswered(): { token: string; error?: string; output?: unknown }[] {
  return [
    ...sfn.commandCalls(SendTaskSuccessCommand).map((call) => ({
      token: call.args[0].input.taskToken ?? '',
      output: JSON.parse(call.args[0].input.output ?? '{}'),
    })),
    ...sfn.commandCalls(SendTaskFailureCommand).map((call) => ({
      token: call.args[0].input.taskToken ?? '',
      error: call.args[0].input.error,
    })),
  ];
}

const schedule = (release: string, customerId: string) =>
  applyTransition(release, customerId, TRANSITIONS.schedule, { at: time, by: 'test' });

const request = (release: string, customerId: string) =>
  requestDeployment({ release, customerId, taskToken: `${release}/${customerId}/deployment` });

/** The platform reports the deployment succeeded and the rollout records it, as the workflow does. */
async function deployed(release: string, customerId: string): Promise<void> {
  await recordDeploymentResult({ release, customerId, status: 'succeeded', completedAt: time });
  await recordOutcome(release, customerId, 'deployed', { by: 'customer rollout' });
}

const byState = (customers: CustomerRecord[]) =>
  customers.reduce<Record<string, string[]>>((states, customer) => {
    states[customer.state] = [...(states[customer.state] ?? []), customer.id];
    return states;
  }, {});

describe('v1.2.0 planned a day after v1.1.0 started', () => {
  let demo: string[];

  beforeAll(async () => {
    time = OLDER_START;
    await planRelease({ version: OLDER, startAt: OLDER_START });
    demo = (await listCustomers(OLDER)).filter((each) => each.stepKey === 'demo_1').map((each) => each.id);
    // Day 0 of v1.1.0: three demo customers deployed, the fourth's deployment in flight.
    for (const id of demo) {
      await schedule(OLDER, id);
      await request(OLDER, id);
    }
    for (const id of demo.slice(0, 3)) await deployed(OLDER, id);
    // An enterprise customer's approvers asked, a standard customer's rollout parked by a halt.
    await applyTransition(
      OLDER,
      'atlas-insurance-group',
      TRANSITIONS.askApproval,
      { at: time, by: 'test' },
      {
        approvalRequestId: 'atlas-request',
      },
    );
    await putApproval({
      id: 'atlas-request',
      release: OLDER,
      customerId: 'atlas-insurance-group',
      approvers: ['cio@atlas.example.com'],
      expiresAt: '2027-04-30T09:00:00Z',
      taskToken: 'atlas-approval-token',
    });
    await applyTransition(OLDER, 'acme-corporation', TRANSITIONS.postpone, { at: time, by: 'halt' });
    await parkRollout(OLDER, { customerId: 'acme-corporation', token: 'acme-parked-token', since: time });
    // The release execution waits on the startup batch.
    await setStepWaitToken(OLDER, 'startup_1', 'startup-step-token');
    time = NEWER_START;
    resetCalls();
  });

  it('previews the takeover without changing anything: whom it takes from v1.1.0, who goes on there', async () => {
    const before = await listCustomers(OLDER);

    const preview = await takeoverPreview(NEWER);

    expect(preview).toEqual([
      {
        release: OLDER,
        takenOver: expect.any(Array),
        goesOn: expect.arrayContaining([
          { customerId: demo[0], state: 'deployed' },
          { customerId: demo[3], state: 'deployment-requested' },
        ]),
      },
    ]);
    expect(preview[0]?.takenOver).toHaveLength(40);
    expect(preview[0]?.goesOn).toHaveLength(4);
    expect(await listCustomers(OLDER)).toEqual(before);
  });

  it('supersedes the older release’s pending customers and keeps the ones it deployed or is deploying', async () => {
    await planRelease({ version: NEWER, startAt: NEWER_START });

    const older = byState(await listCustomers(OLDER));
    expect(older.deployed?.sort()).toEqual(demo.slice(0, 3).sort());
    expect(older['deployment-requested']).toEqual([demo[3]]);
    expect(older.superseded).toHaveLength(40);
    const acme = await getCustomer(OLDER, 'acme-corporation');
    expect(acme?.history.at(-1)).toEqual({
      state: 'superseded',
      at: NEWER_START,
      by: 'plan-release',
      reason: 'superseded by v1.2.0',
    });
    // The newer release plans every customer, the ones it takes over and the ones it deploys after v1.1.0.
    expect(await listCustomers(NEWER)).toHaveLength(44);
    expect(byState(await listCustomers(NEWER))).toEqual({ planned: expect.any(Array) });
  });

  it('counts each superseded customer once on its step of the older release, exact to the customer', async () => {
    const demoStep = await getStep(OLDER, 'demo_1');
    const startup = await getStep(OLDER, 'startup_1');
    const enterprise = await getStep(OLDER, 'enterprise');

    expect(demoStep).toMatchObject({ total: 4, recorded: 3, deployed: 3, superseded: 0 });
    expect(startup).toMatchObject({ total: 5, recorded: 5, deployed: 0, failed: 0, superseded: 5 });
    expect(enterprise).toMatchObject({ total: 8, recorded: 8, superseded: 8 });
  });

  it('resumes the older release waiting on a step whose last customers were taken over', () => {
    expect(tokensAnswered()).toContainEqual({
      token: 'startup-step-token',
      output: expect.objectContaining({ halted: false, total: 5, superseded: 5 }),
    });
  });

  it('ends the older release’s rollouts that wait on an approval or a halt, without deploying them', () => {
    expect(tokensAnswered()).toEqual(
      expect.arrayContaining([
        { token: 'atlas-approval-token', error: 'Customer.Superseded' },
        { token: 'acme-parked-token', error: 'Customer.Superseded' },
      ]),
    );
    expect(deploymentsRequested()).toEqual([]);
  });

  it('passes the older release’s gate of a step it no longer deploys', async () => {
    const gate = await evaluateGateOf(OLDER, 'startup', 'startup_1');

    expect(gate).toMatchObject({ passed: true, halted: false });
  });

  it('stops a superseded customer’s later tasks in the older release on its state: nothing is deployed', async () => {
    await expect(request(OLDER, 'bytewise-labs')).rejects.toMatchObject({
      name: 'Customer.Superseded',
      message: 'superseded by v1.2.0',
    });
    const ended = await recordOutcome(OLDER, 'bytewise-labs', 'superseded', { by: 'customer rollout' });

    expect(ended).toEqual({ outcome: 'superseded', counted: false });
    expect(deploymentsRequested()).toEqual([]);
    expect(await getStep(OLDER, 'startup_1')).toMatchObject({ recorded: 5, superseded: 5 });
  });

  it('changes nothing when planned again', async () => {
    const before = await listCustomers(OLDER);

    await planRelease({ version: NEWER, startAt: NEWER_START });
    const again = await takeOverCustomers(NEWER, demo, 'plan-release');

    expect(again).toEqual([]);
    expect(await listCustomers(OLDER)).toEqual(before);
    expect(await getStep(OLDER, 'startup_1')).toMatchObject({ recorded: 5, superseded: 5 });
  });

  it('deploys a customer in flight in the older release only once that deployment is reported', async () => {
    const inFlight = demo[3] as string;
    await schedule(NEWER, inFlight);

    await expect(request(NEWER, inFlight)).rejects.toMatchObject({ name: 'Deployment.InFlight' });
    expect((await getCustomer(NEWER, inFlight))?.state).toBe('scheduled');

    await deployed(OLDER, inFlight);
    await expect(request(NEWER, inFlight)).resolves.toEqual({ requested: true });
    expect(deploymentsRequested()).toEqual([{ release: NEWER, customerId: inFlight }]);
  });
});

describe('two releases asking to deploy the same customer at once', () => {
  let customerNumber = 0;
  let customerId: string;

  // Both releases planned (planning again changes nothing).
  beforeAll(async () => {
    await planRelease({ version: OLDER, startAt: OLDER_START });
    await planRelease({ version: NEWER, startAt: NEWER_START });
    time = NEWER_START;
  });

  /** A customer scheduled in both releases (no notice needed), alone in its step of each. */
  beforeEach(async () => {
    resetCalls();
    customerNumber += 1;
    customerId = `racer-${customerNumber}`;
    const customer: PlannedCustomerRecord = {
      id: customerId,
      name: `Racer ${customerNumber}`,
      policy: 'enterprise',
      phase: 'enterprise',
      batch: 1,
      noticeAt: null,
      deployAt: NEWER_START,
      approvalRequired: false,
      deadlineAt: '2027-04-30T09:00:00Z',
      timeZone: 'UTC',
      stepKey: `race_${customerNumber}`,
      window: { timeZone: 'UTC', days: ['tue'], start: '09:00', durationMinutes: 240 },
      contacts: [{ name: 'Ops', email: `ops@racer-${customerNumber}.example.com` }],
      approvers: [],
    };
    for (const release of [OLDER, NEWER]) {
      await putCustomerIfAbsent(release, customer, time);
      await putStepIfAbsent(release, customer.stepKey, {
        total: 1,
        oneAtATime: false,
        waitUntil: '2027-04-30T09:00:00Z',
      });
      await schedule(release, customerId);
    }
  });

  it.each([1, 2, 3])('lets exactly one of them proceed (round %i)', async () => {
    const racers = Array.from({ length: RACERS }, (_, index) =>
      request(index % 2 === 0 ? OLDER : NEWER, customerId).then(
        (result) => ({ release: index % 2 === 0 ? OLDER : NEWER, result }),
        (error: Error) => ({ release: index % 2 === 0 ? OLDER : NEWER, error: error.name }),
      ),
    );
    const results = await Promise.all(racers);

    const requested = deploymentsRequested();
    expect(requested).toHaveLength(1);
    const winner = requested[0]?.release;
    const loser = winner === OLDER ? NEWER : OLDER;
    expect((await getCustomer(winner as string, customerId))?.state).toBe('deployment-requested');
    expect((await getCustomer(loser, customerId))?.state).toBe('scheduled');
    for (const each of results.filter((result) => result.release === loser))
      expect(each).toEqual({ release: loser, error: 'Deployment.InFlight' });
  });

  it.each([1, 2, 3])(
    'lets the takeover and the older release’s own request race: the customer ends in exactly one of them (round %i)',
    async () => {
      const racers = [
        takeOverCustomers(NEWER, [customerId], 'plan-release'),
        ...Array.from({ length: RACERS }, () => request(OLDER, customerId).catch((error: Error) => error)),
      ];
      const [takeover, ...requests] = await Promise.all(racers);

      const older = await getCustomer(OLDER, customerId);
      const claim = await getDeploymentClaim(customerId);
      if (older?.state === 'superseded') {
        expect(takeover).toEqual([{ release: OLDER, takenOver: [customerId], goesOn: [] }]);
        expect(deploymentsRequested()).toEqual([]);
        expect(claim?.deployingRelease).toBeUndefined();
        for (const each of requests) expect(each).toMatchObject({ name: 'Customer.Superseded' });
      } else {
        expect(older?.state).toBe('deployment-requested');
        expect(takeover).toEqual([]);
        expect(deploymentsRequested()).toEqual([{ release: OLDER, customerId }]);
        expect(claim?.deployingRelease).toBe(OLDER);
        expect(requests.filter((each) => 'requested' in each && each.requested)).toHaveLength(1);
      }
      expect(await getStep(OLDER, older?.stepKey as string)).toMatchObject({
        recorded: older?.state === 'superseded' ? 1 : 0,
      });
    },
  );

  it('never downgrades: the older release’s late request for a customer already on v1.2.0 ends it superseded', async () => {
    await request(NEWER, customerId);
    await deployed(NEWER, customerId);

    await expect(request(OLDER, customerId)).rejects.toMatchObject({ name: 'Customer.Superseded' });

    const older = await getCustomer(OLDER, customerId);
    expect(older?.state).toBe('superseded');
    expect(older?.outcomeReason).toBe('already on v1.2.0: v1.1.0 would be a downgrade');
    expect(await getStep(OLDER, older?.stepKey as string)).toMatchObject({ recorded: 1, superseded: 1 });
    expect(deploymentsRequested()).toEqual([{ release: NEWER, customerId }]);
  });
});
