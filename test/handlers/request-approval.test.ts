import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as requestApproval } from '../../lambdas/handlers/request-approval.js';
import {
  anEnterpriseCustomer,
  awaitingApproval,
  givenApproval,
  givenCustomer,
  givenRelease,
  RELEASE,
  storedApproval,
  storedCustomer,
  storedEmailCounts,
} from './support/given.js';
import {
  emailsSent,
  errorFrom,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  tokensAnswered,
} from './support/world.js';

const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAc2Vjb25kLXNlY3JldC10YXNrLXRva2Vu';
const ask = (taskToken = TASK_TOKEN) =>
  requestApproval({ release: RELEASE, customerId: 'contoso-bank', taskToken });

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenTheTimeIs('2027-03-23T09:00:00.000Z');
});
afterAll(restoreRealClock);

describe('request-approval', () => {
  it('stores the task token behind an opaque request id', async () => {
    // Prepare
    givenCustomer(anEnterpriseCustomer());

    // Act
    const result = await ask();

    // Assess
    expect(result.requestId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(result.expiresAt).toBe('2027-04-22T09:00:00.000Z');
    expect(storedApproval(result.requestId)).toMatchObject({
      release: RELEASE,
      customerId: 'contoso-bank',
      approvers: ['priya.raman@contoso.example.com', 'tom.okafor@contoso.example.com'],
      expiresAt: '2027-04-22T09:00:00Z',
      taskToken: TASK_TOKEN,
    });
    const customer = storedCustomer('contoso-bank');
    expect(customer).toMatchObject({ state: 'awaiting-approval', approvalRequestId: result.requestId });
    expect(customer?.history.at(-1)).toEqual({
      state: 'awaiting-approval',
      at: '2027-03-23T09:00:00.000Z',
      by: 'request-approval',
      reason: 'asked priya.raman@contoso.example.com, tom.okafor@contoso.example.com',
    });
  });

  it('emails each approver once a review link that names the request but never carries the token', async () => {
    // Prepare
    givenCustomer(anEnterpriseCustomer());

    // Act
    const { requestId } = await ask();

    // Assess
    const emails = emailsSent();
    expect(emails.map((email) => email.to)).toEqual([
      ['Priya.Raman@contoso.example.com'],
      ['tom.okafor@contoso.example.com'],
    ]);
    for (const email of emails) {
      expect(email.subject).toBe('Approval needed: SecureWatch v1.1.0 for Contoso Bank');
      expect(email.text).toContain(`https://approvals.securewatch.example.com/approvals/${requestId}?`);
      expect(email.text).not.toContain(TASK_TOKEN);
      expect(email.html).not.toContain(TASK_TOKEN);
    }
    expect(storedEmailCounts()).toEqual({ 'approval-request': 2 });
  });

  it('sends no second email when retried, and parks the new token on the same request', async () => {
    // Prepare
    givenCustomer(anEnterpriseCustomer());
    const first = await ask('token-first-attempt');

    // Act
    const retry = await ask('token-second-attempt');

    // Assess
    expect(retry.requestId).toBe(first.requestId);
    expect(emailsSent()).toHaveLength(2);
    expect(storedEmailCounts()).toEqual({ 'approval-request': 2 });
    expect(storedApproval(first.requestId)?.taskToken).toBe('token-second-attempt');
    expect(tokensAnswered()).toEqual([]);
    const asked = storedCustomer('contoso-bank')?.history.filter(
      (entry) => entry.state === 'awaiting-approval',
    );
    expect(asked).toHaveLength(1);
  });

  it('resumes the execution at once when the request was already approved', async () => {
    // Prepare
    givenCustomer(
      awaitingApproval(
        anEnterpriseCustomer({
          approvalRequestId: 'req-approved',
          approvalEmailSentAt: '2027-03-22T09:00:00Z',
        }),
      ),
    );
    givenApproval({
      id: 'req-approved',
      release: RELEASE,
      customerId: 'contoso-bank',
      approvers: ['priya.raman@contoso.example.com'],
      expiresAt: '2027-04-22T09:00:00Z',
      taskToken: 'token-of-the-timed-out-attempt',
      decision: 'approved',
      decidedBy: 'priya.raman@contoso.example.com',
      decidedAt: '2027-03-22T15:12:00Z',
    });

    // Act
    await ask('token-after-redrive');

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'token-after-redrive',
        outcome: 'success',
        output: { decision: 'approved', approvedBy: 'priya.raman@contoso.example.com' },
      },
    ]);
    expect(emailsSent()).toEqual([]);
  });

  it('fails the execution at once with Approval.Rejected when the request was already rejected', async () => {
    // Prepare
    givenCustomer(awaitingApproval(anEnterpriseCustomer({ approvalRequestId: 'req-rejected' })));
    givenApproval({
      id: 'req-rejected',
      release: RELEASE,
      customerId: 'contoso-bank',
      approvers: ['tom.okafor@contoso.example.com'],
      expiresAt: '2027-04-22T09:00:00Z',
      taskToken: 'token-of-the-timed-out-attempt',
      decision: 'rejected',
      decidedBy: 'tom.okafor@contoso.example.com',
      decidedAt: '2027-03-22T15:12:00Z',
    });

    // Act
    await ask('token-after-redrive');

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'token-after-redrive',
        outcome: 'failure',
        error: 'Approval.Rejected',
        cause: 'Rejected by tom.okafor@contoso.example.com',
      },
    ]);
    expect(emailsSent()).toEqual([]);
  });

  it('asks no approver while the release is halted', async () => {
    // Prepare
    givenRelease('halted');
    givenCustomer(anEnterpriseCustomer());

    // Act
    const error = await errorFrom(() => ask());

    // Assess
    expect(error.name).toBe('Release.Halted');
    expect(emailsSent()).toEqual([]);
    expect(storedCustomer('contoso-bank')).toMatchObject({ state: 'noticed' });
    expect(storedCustomer('contoso-bank')?.approvalRequestId).toBeUndefined();
  });
});
