import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generatedFleet } from '../../bench/fleet.js';
import { requestApproval, requestRollbackApproval } from '../../lambdas/application/approvals.js';
import { importFleet } from '../../lambdas/application/fleet.js';
import { abort } from '../../lambdas/application/halt.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { pauseForFailedGate } from '../../lambdas/application/pause.js';
import { planAndRecordRelease } from '../../lambdas/application/plan.js';
import { requestRollback } from '../../lambdas/application/rollbacks.js';
import { customerStatus, releaseStatus } from '../../lambdas/application/status.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { audit } from '../../lambdas/store/audit.js';
import { applyTransition } from '../../lambdas/store/customers.js';
import { updateRelease } from '../../lambdas/store/releases.js';
import { changeStepHealth, listStepMembers } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { startReleaseTable } from './support/release-table.js';

/** The release execution's planning tasks in turn: plan, write every chunk, open the release. */
const planRelease = ({ version, startAt }: { version: string; startAt: string }) =>
  planAndRecordRelease(version, startAt);

// check-status reads the release record, its steps, their latest gates and the pending approvals: the same
// requests for a fleet of 50 as for 2,000. Releases are planned by the real planning task on dynalite.

const START = '2027-03-01T09:00:00Z';
// The small release is the newer one, planned first: the older one planned after it takes nothing over
// (a newer release takes over an older one's customers, never the other way round).
const SMALL = 'v1.2.0';
const LARGE = 'v1.1.0';
const eventsMock = mockClient(EventBridgeClient);
const queueMock = mockClient(SQSClient);
const stepFunctionsMock = mockClient(SFNClient);
let database: LocalDynamoDb;
let time = START;

beforeAll(async () => {
  database = await startReleaseTable({
    EVENT_BUS_NAME: 'securewatch-releases',
    EMAIL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/securewatch-email',
    ESCALATION_EMAILS: 'release-manager@securewatch.example.com',
  });
  eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  stepFunctionsMock.on(SendTaskFailureCommand).resolves({});
  queueMock.on(SendMessageCommand).resolves({ MessageId: 'queued' });
  queueMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  useClock({ now: () => time });
  await givenReleaseUnderWay(SMALL, 50);
  await givenReleaseUnderWay(LARGE, 2_000);
}, 180_000);

afterAll(async () => {
  useRealClock();
  eventsMock.restore();
  queueMock.restore();
  stepFunctionsMock.restore();
  resetClients();
  await database.stop();
});

/** Plans `version` for a generated fleet of `size` with the planning task, then plays its first days. */
async function givenReleaseUnderWay(version: string, size: number): Promise<void> {
  const fleet = generatedFleet(sampleFleet(bundledConfig().policies), size);
  await importFleet({ json: fleet, label: `generated fleet of ${size}` }, 'test');
  time = START;
  await planRelease({ version, startAt: START });

  // Demo: two customers deployed, one failed, the rest still under way.
  time = '2027-03-01T12:00:00Z';
  const demo = (await listStepMembers(version, 'demo_1')).map((member) => member.id);
  await updateRelease(version, { awaitingStep: 'demo_1' });
  for (const [index, id] of demo.slice(0, 3).entries()) {
    const cause = { at: time, by: 'test' };
    await applyTransition(version, id, TRANSITIONS.schedule, cause);
    await applyTransition(version, id, TRANSITIONS.requestDeployment, cause);
    await recordOutcome(version, id, index === 2 ? 'failed' : 'deployed', { by: 'test', reason: 'test' });
  }
  // Enterprise: three customers' approvers asked; the first one approved since.
  const enterprise = (await listStepMembers(version, 'enterprise'))
    .filter((member) => member.deployAt !== null)
    .map((member) => member.id);
  for (const id of enterprise.slice(0, 3))
    await requestApproval(
      { release: version, customerId: id, taskToken: `token-${id}` },
      { signingKey: 'k'.repeat(32), baseUrl: 'https://approvals.example.com' },
    );
  // Then its gate failed and paused the release.
  await audit(version, time, 'gate#demo_1', {
    passed: false,
    reason: '1 customer(s) have no outcome yet',
  });
  await pauseForFailedGate(version, {
    what: 'gate#demo_1',
    steps: ['demo_1'],
    reason: 'gate demo_1 failed: 1 customer(s) have no outcome yet',
  });

  time = '2027-03-02T09:00:00Z';
  await applyTransition(version, enterprise[0] as string, TRANSITIONS.approve, {
    at: time,
    by: 'cfo@example.com',
  });
  time = '2027-03-02T12:00:00Z';
}

/** The store requests `read` makes, counted on the document client every store module sends through. */
async function storeRequestsOf(read: () => Promise<unknown>): Promise<number> {
  const send = vi.spyOn(dynamo(), 'send');
  try {
    await read();
    return send.mock.calls.length;
  } finally {
    send.mockRestore();
  }
}

describe('the status of a release', () => {
  it('costs the same store requests for 2,000 customers as for 50', async () => {
    const small = await storeRequestsOf(() => releaseStatus(SMALL));
    const large = await storeRequestsOf(() => releaseStatus(LARGE));

    expect(large).toBe(small);
    expect(small).toBe(7);
  });

  it('says the release is paused by the failed gate, with its reason', async () => {
    const status = await releaseStatus(SMALL);

    expect(status.status).toBe('paused');
    expect(status.pause).toMatchObject({ kind: 'gate-failed', reason: expect.stringContaining('demo_1') });
    expect(status.pausedGates).toEqual([
      {
        gate: 'demo_1',
        steps: ['demo_1'],
        reason: 'gate demo_1 failed: 1 customer(s) have no outcome yet',
        since: '2027-03-01T12:00:00Z',
      },
    ]);
  });

  it('counts each batch’s outcomes and says where it stands, with its gate', async () => {
    const status = await releaseStatus(LARGE);

    const demo = status.phases.find((phase) => phase.name === 'demo');
    const demoBatch = demo?.batches[0];
    expect(demoBatch).toMatchObject({
      key: 'demo_1',
      progress: 'in-progress',
      gate: { passed: false, reason: '1 customer(s) have no outcome yet' },
    });
    expect(demoBatch?.counts).toMatchObject({ deployed: 2, failed: 1, recorded: 3, withoutHealthReport: 2 });
    expect(demoBatch?.counts.inFlight).toBe((demoBatch?.counts.total ?? 0) - 3);
    const startup = status.phases.find((phase) => phase.name === 'startup');
    expect(startup?.progress).toBe('not-started');
    // The two customers the newer release already deployed are left out: never a downgrade.
    expect(status.counts.total).toBe(2_000 - 2);
  });

  it('lists the approvals still pending with their age, not the one decided', async () => {
    const status = await releaseStatus(LARGE);

    expect(status.pendingApprovals).toHaveLength(2);
    expect(status.pendingApprovals[0]).toMatchObject({
      purpose: 'deployment',
      stepKey: 'enterprise',
      askedAt: '2027-03-01T12:00:00Z',
      ageSeconds: 24 * 3600,
      expired: false,
    });
    expect(status.morePendingApprovals).toBe(false);
  });

  it('gives the next scheduled events, soonest first: the end of the demo wait, then the startup opening', async () => {
    const status = await releaseStatus(SMALL);

    expect(status.nextEvent).toMatchObject({ kind: 'step-wait-ends', step: 'demo_1' });
    expect(Date.parse(status.nextEvent?.at ?? '')).toBeGreaterThan(Date.parse(status.asOf));
    expect(status.upcoming.map((event) => event.kind)).toContain('batch-opens');
    expect(status.upcoming.find((event) => event.kind === 'batch-opens')?.step).toBe('startup_1');
    const instants = status.upcoming.map((event) => Date.parse(event.at));
    expect(instants).toEqual([...instants].sort((a, b) => a - b));
  });

  it('shows the release’s quality figures against its limits', async () => {
    const status = await releaseStatus(SMALL);

    expect(status.quality.figures).toMatchObject({ deployments: 2, rollbacks: 0, rollbackRatePercent: 0 });
    expect(status.quality.limits).toEqual(bundledConfig().release.releaseQuality);
    expect(status.quality.breaches).toEqual([]);
  });

  it('is a clear error for a release never planned', async () => {
    await expect(releaseStatus('v9.9.9')).rejects.toThrow(/no release v9.9.9 has been planned/);
  });
});

describe('the status of one customer', () => {
  it('gives its state, plan, approval and history, found by name', async () => {
    const [asked] = (await listStepMembers(SMALL, 'enterprise'))
      .filter((member) => member.deployAt !== null)
      .map((member) => member.id);
    const byId = await customerStatus(SMALL, asked as string);

    const byName = await customerStatus(SMALL, byId.customer.name.toUpperCase());

    expect(byName.customer.id).toBe(asked);
    expect(byName.state).toBe('approved');
    expect(byName.approval).toMatchObject({ required: true, askedAt: '2027-03-01T12:00:00Z' });
    expect(byName.history.map((entry) => entry.state)).toEqual(['planned', 'awaiting-approval', 'approved']);
    expect(JSON.stringify(byName)).not.toContain('token-');
  });
});

describe('a rollback waiting on its approvers', () => {
  it('is a pending approval until the rollback ends', async () => {
    const customerId = (await releaseStatus(LARGE)).pendingApprovals[0]?.customerId as string;
    const cause = { at: time, by: 'test' };
    await applyTransition(LARGE, customerId, TRANSITIONS.approve, cause);
    await applyTransition(LARGE, customerId, TRANSITIONS.schedule, cause);
    await applyTransition(LARGE, customerId, TRANSITIONS.requestDeployment, cause);
    await applyTransition(LARGE, customerId, TRANSITIONS.recordDeployed, cause, { deployedAt: time });
    await requestRollback(
      { release: LARGE, customerId, trigger: 'operator', reason: 'reports broken', by: 'ops' },
      async () => {},
    );
    await requestRollbackApproval(
      { release: LARGE, customerId, taskToken: 'rollback-token', approvalSeconds: 48 * 3600 },
      { signingKey: 'k'.repeat(32), baseUrl: 'https://approvals.example.com' },
    );

    const asked = await releaseStatus(LARGE);
    expect(asked.pendingApprovals.find((each) => each.customerId === customerId)).toMatchObject({
      purpose: 'rollback',
      askedAt: time,
    });

    await applyTransition(LARGE, customerId, TRANSITIONS.keepDeployed, {
      at: time,
      by: 'no decision in time',
    });
    const ended = await releaseStatus(LARGE);
    expect(ended.pendingApprovals.map((each) => each.customerId)).not.toContain(customerId);
  });
});

describe('health reports against the release’s quality', () => {
  it('counts a step’s critical errors, read without the customers it names, as a breach', async () => {
    await changeStepHealth(LARGE, 'demo_1', (health) => ({
      ...health,
      criticalErrors: 2,
      customersWithCriticalErrors: { count: 1, ids: ['demo-sales-us-0'] },
      customersAffected: 1,
    }));

    const status = await releaseStatus(LARGE);

    expect(status.quality.figures.criticalIssues).toBe(2);
    expect(status.quality.breaches).toEqual(["release critical issues 2 exceed the release's limit of 0"]);
  });
});

describe('an aborted release', () => {
  it('has no pending approval left and nothing scheduled', async () => {
    await abort(SMALL, { reason: 'found a data loss bug', by: 'release-manager' });

    // The two rollouts waiting on their approvers were ended.
    expect(stepFunctionsMock.commandCalls(SendTaskFailureCommand)).toHaveLength(2);

    const status = await releaseStatus(SMALL);

    expect(status.status).toBe('aborted');
    expect(status.abortReason).toBe('found a data loss bug');
    expect(status.pendingApprovals).toEqual([]);
    expect(status.nextEvent).toBeUndefined();
  });
});
