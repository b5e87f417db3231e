import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as recordRollbackOutcome } from '../../lambdas/handlers/record-rollback-outcome.js';
import { handler as requestApproval } from '../../lambdas/handlers/request-approval.js';
import { handler as requestPlatformRollback } from '../../lambdas/handlers/request-platform-rollback.js';
import {
  anEnterpriseCustomer,
  givenCustomer,
  givenRelease,
  givenStep,
  RELEASE,
  storedApproval,
  storedCustomer,
  storedRelease,
  storedStep,
} from './support/given.js';
import {
  emailsSent,
  eventsPublished,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  tokensAnswered,
} from './support/world.js';

// The rollback workflow's tasks one by one, each run twice as Step Functions may: what it asks, tells and
// records once.

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAc2Vjb25kLXNlY3JldC10YXNrLXRva2Vu';
const RELEASE_MANAGER = 'release-manager@securewatch.example.com';
const customerId = 'contoso-bank';

beforeEach(() => {
  resetWorld();
  process.env.ESCALATION_EMAILS = RELEASE_MANAGER;
  givenRelease('running');
  givenTheTimeIs('2027-04-02T09:00:00.000Z');
  givenStep('enterprise', { total: 8, recorded: 8, deployed: 8 });
  givenCustomer(
    anEnterpriseCustomer({
      state: 'rolling-back',
      deployedAt: '2027-03-28T00:30:00Z',
      rollbackTrigger: 'security-finding',
      rollbackReason: 'a critical CVE in v1.1.0',
    }),
  );
});
afterEach(() => {
  delete process.env.ESCALATION_EMAILS;
});
afterAll(restoreRealClock);

describe('asking the stakeholders to approve a rollback', () => {
  const ask = (taskToken = TOKEN) =>
    requestApproval({
      release: RELEASE,
      customerId,
      taskToken,
      purpose: 'rollback',
      approvalSeconds: 48 * 3600,
    });

  it('emails each approver a ROLLBACK request once, with the reason and a link that never carries the token', async () => {
    const first = await ask();
    const second = await ask('another-token-of-a-retry');

    expect(second.requestId).toBe(first.requestId);
    const emails = emailsSent();
    expect(emails).toHaveLength(2);
    for (const email of emails) {
      expect(email.subject).toBe('Rollback approval needed: SecureWatch v1.1.0 for Contoso Bank');
      expect(email.text).toContain('ROLLBACK REQUEST');
      expect(email.text).toContain('Reason: a critical CVE in v1.1.0');
      expect(email.text).not.toContain(TOKEN);
    }
    expect(storedApproval(first.requestId)).toMatchObject({
      purpose: 'rollback',
      reason: 'a critical CVE in v1.1.0',
      expiresAt: '2027-04-04T09:00:00Z',
      taskToken: 'another-token-of-a-retry',
    });
  });

  it('leaves the customer rolling back: a rollback’s approval is not a deployment’s', async () => {
    await ask();

    expect(storedCustomer(customerId)?.state).toBe('rolling-back');
  });
});

describe('asking the platform to roll back', () => {
  const ask = (taskToken = TOKEN) => requestPlatformRollback({ release: RELEASE, customerId, taskToken });

  it('publishes one Rollback Requested with the trigger and the reason, however often it runs', async () => {
    expect(await ask()).toEqual({ requested: true });
    expect(await ask()).toEqual({ requested: false });

    expect(eventsPublished()).toEqual([
      {
        detailType: 'Rollback Requested',
        source: 'securewatch.release-orchestrator',
        bus: 'securewatch-release-bus',
        detail: {
          schemaVersion: '1.1',
          correlationId: 'v1.1.0/contoso-bank',
          release: RELEASE,
          customerId,
          trigger: 'security-finding',
          reason: 'a critical CVE in v1.1.0',
          requestedAt: '2027-04-02T09:00:00.000Z',
          reportBy: '2027-04-02T15:00:00.000Z',
        },
      },
    ]);
    expect(storedCustomer(customerId)?.history.at(-1)).toEqual({
      state: 'rolling-back',
      at: '2027-04-02T09:00:00.000Z',
      by: 'rollback workflow',
      reason: 'Rollback Requested from the platform',
    });
  });

  it('answers a retried wait at once when the platform’s answer is already in', async () => {
    await ask();
    givenCustomer({
      ...(storedCustomer(customerId) as NonNullable<ReturnType<typeof storedCustomer>>),
      rollbackStatus: 'succeeded',
      rolledBackAt: '2027-04-02T09:40:00Z',
    });

    expect(await ask('token-of-the-retry')).toEqual({ alreadyReported: true });
    expect(tokensAnswered()).toEqual([
      {
        token: 'token-of-the-retry',
        outcome: 'success',
        output: { status: 'succeeded', rolledBackAt: '2027-04-02T09:40:00Z' },
      },
    ]);
    expect(eventsPublished()).toHaveLength(1);
  });
});

describe('recording a failed rollback', () => {
  const fail = () =>
    recordRollbackOutcome({
      release: RELEASE,
      customerId,
      outcome: 'rollback-failed',
      error: { Error: 'Rollback.Failed', Cause: 'snapshot restore failed' },
    });

  it('records it once, counted on the step, pauses the release and pages the escalation contacts once', async () => {
    await fail();
    await fail();

    expect(storedCustomer(customerId)).toMatchObject({
      state: 'rollback-failed',
      rollbackFailureReason: 'snapshot restore failed',
    });
    const step = storedStep('enterprise');
    expect([step?.rolledBack ?? 0, step?.rollbackFailed ?? 0]).toEqual([0, 1]);
    expect(storedRelease()).toMatchObject({
      status: 'paused',
      pause: {
        kind: 'rollback-failed',
        reason: 'the rollback of contoso-bank failed: snapshot restore failed',
        by: 'rollback#contoso-bank',
      },
    });
    const pages = emailsSent().filter((email) => email.to.includes(RELEASE_MANAGER));
    expect(pages.map((email) => email.subject)).toEqual([
      'ROLLBACK FAILED: SecureWatch v1.1.0 for Contoso Bank',
    ]);
  });
});

describe('recording a rollback the stakeholders rejected', () => {
  it('puts the customer back to deployed, counts nothing and tells the release manager once', async () => {
    const keep = () =>
      recordRollbackOutcome({
        release: RELEASE,
        customerId,
        outcome: 'kept-deployed',
        error: { Error: 'Approval.Rejected', Cause: 'Rejected by tom.okafor@contoso.example.com' },
      });
    await keep();
    await keep();

    expect(storedCustomer(customerId)?.state).toBe('deployed');
    const step = storedStep('enterprise');
    expect([step?.rolledBack ?? 0, step?.rollbackFailed ?? 0]).toEqual([0, 0]);
    expect(storedRelease()?.status).toBe('running');
    expect(emailsSent().map((email) => [email.to, email.subject])).toEqual([
      [[RELEASE_MANAGER], 'Rollback not approved: SecureWatch v1.1.0 for Contoso Bank'],
    ]);
  });
});
