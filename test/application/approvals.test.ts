import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { answerApproval, reviewApproval } from '../../lambdas/application/approvals.js';
import {
  type ApprovalAction,
  type ApprovalLink,
  confirmationCode,
  signApproval,
} from '../../lambdas/core/approval-link.js';
import {
  anEnterpriseCustomer,
  awaitingApproval,
  givenApproval,
  givenCustomer,
  givenRelease,
  RELEASE,
  storedApproval,
  storedCustomer,
} from '../handlers/support/given.js';
import {
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  SIGNING_KEY,
  taskAnswerCalls,
  tokensAnswered,
} from '../handlers/support/world.js';

// Answering an approval as an operation, without HTTP: what the review page, a CLI or the local runtime
// get back, and what it changes.

const REQUEST_ID = 'k3Jq9xV0bT2mWcYp8LrN4A';
const PRIYA = 'priya.raman@contoso.example.com';
const TOM = 'tom.okafor@contoso.example.com';
const TASK_TOKEN = 'approval-task-token';
const linkOf = (approver: string): ApprovalLink => ({
  requestId: REQUEST_ID,
  approver,
  expiresAt: '2027-04-22T09:00:00Z',
});
const answer = (
  action: ApprovalAction,
  approver = PRIYA,
  confirmation = confirmationCode(linkOf(approver), SIGNING_KEY),
) =>
  answerApproval(
    {
      link: linkOf(approver),
      action,
      signature: signApproval(linkOf(approver), action, SIGNING_KEY),
      confirmation,
    },
    SIGNING_KEY,
  );

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-03-23T10:15:00.000Z');
  givenRelease('running');
  givenCustomer(awaitingApproval(anEnterpriseCustomer({ approvalRequestId: REQUEST_ID })));
  givenApproval({
    id: REQUEST_ID,
    release: RELEASE,
    customerId: 'contoso-bank',
    customerName: 'Contoso Bank',
    approvers: [PRIYA, TOM],
    expiresAt: '2027-04-22T09:00:00Z',
    taskToken: TASK_TOKEN,
  });
});
afterAll(restoreRealClock);

describe('answering an approval', () => {
  it('shows the request to review without its task token', async () => {
    // Act
    const review = await reviewApproval(
      linkOf(PRIYA),
      {
        approve: signApproval(linkOf(PRIYA), 'approve', SIGNING_KEY),
        reject: signApproval(linkOf(PRIYA), 'reject', SIGNING_KEY),
      },
      SIGNING_KEY,
    );

    // Assess
    expect(review).toMatchObject({
      kind: 'open',
      request: { release: RELEASE, customerId: 'contoso-bank', customerName: 'Contoso Bank' },
      confirmationCode: expect.stringMatching(/^[A-Z2-9]{6}$/),
    });
    expect(JSON.stringify(review)).not.toContain(TASK_TOKEN);
  });

  it('decides nothing without the confirmation code, as when a mail scanner submits the page', async () => {
    // Act
    const result = await answer('approve', PRIYA, '');

    // Assess
    expect(result).toMatchObject({
      kind: 'unconfirmed',
      typed: false,
      request: { customerId: 'contoso-bank' },
    });
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(storedCustomer('contoso-bank')?.state).toBe('awaiting-approval');
    expect(taskAnswerCalls()).toBe(0);
  });

  it('decides nothing with a wrong code, and decides once the right one is typed', async () => {
    // Prepare
    const tomsCode = confirmationCode(linkOf(TOM), SIGNING_KEY);

    // Act
    const wrong = await answer('approve', PRIYA, tomsCode);
    const typedLoosely = await answer(
      'approve',
      PRIYA,
      ` ${confirmationCode(linkOf(PRIYA), SIGNING_KEY)
        .toLowerCase()
        .replace(/^(...)/, '$1-')} `,
    );

    // Assess
    expect(wrong).toMatchObject({ kind: 'unconfirmed', typed: true });
    expect(typedLoosely).toMatchObject({ kind: 'approved', by: PRIYA });
    expect(tokensAnswered()).toHaveLength(1);
  });

  it('looks up no request for an id no link could carry', async () => {
    // Act
    const review = await reviewApproval(
      { ...linkOf(PRIYA), requestId: 'x'.repeat(4096) },
      { approve: '', reject: '' },
      SIGNING_KEY,
    );

    // Assess
    expect(review).toEqual({ kind: 'unknown' });
  });

  it('decides nothing while the release is halted, says why, and decides once the release is resumed', async () => {
    // Prepare
    givenRelease('halted');

    // Act
    const whileHalted = await answer('approve');
    givenRelease('running');
    const afterResume = await answer('approve');

    // Assess
    expect(whileHalted).toEqual({ kind: 'halted', reason: 'customer reports under investigation' });
    expect(afterResume).toMatchObject({ kind: 'approved', by: PRIYA });
    expect(storedApproval(REQUEST_ID)?.decision).toBe('approved');
    expect(tokensAnswered()).toEqual([
      { token: TASK_TOKEN, outcome: 'success', output: { decision: 'approved', approvedBy: PRIYA } },
    ]);
  });

  it('decides nothing while the customer alone is halted', async () => {
    // Prepare
    givenCustomer(
      awaitingApproval(
        anEnterpriseCustomer({
          approvalRequestId: REQUEST_ID,
          halt: { id: 'halt-1', from: '2027-03-22T08:00:00Z', reason: 'audit in progress', by: 'ops' },
        }),
      ),
    );

    // Act
    const result = await answer('approve');

    // Assess
    expect(result).toEqual({ kind: 'halted', reason: 'audit in progress' });
    expect(storedCustomer('contoso-bank')?.state).toBe('awaiting-approval');
    expect(taskAnswerCalls()).toBe(0);
  });

  it('decides nothing once the release is aborted, and says why', async () => {
    // Prepare
    givenRelease('aborted');

    // Act
    const result = await answer('reject');

    // Assess
    expect(result).toEqual({ kind: 'aborted', reason: 'the release was withdrawn' });
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(taskAnswerCalls()).toBe(0);
  });

  it('decides once when two approvers answer at the same moment', async () => {
    // Act
    const results = await Promise.all([answer('approve', PRIYA), answer('reject', TOM)]);

    // Assess
    const decided = results.filter((result) => result.kind === 'approved' || result.kind === 'rejected');
    expect(decided).toHaveLength(1);
    expect(results.filter((result) => result.kind === 'already-decided')).toHaveLength(1);
    const decision = storedApproval(REQUEST_ID)?.decision;
    expect(decided[0]?.kind).toBe(decision);
    expect(storedCustomer('contoso-bank')?.state).toBe(decision);
    expect(tokensAnswered()).toHaveLength(1);
  });

  it('tells the approver answering again that it is decided, and changes nothing', async () => {
    // Prepare
    await answer('approve');
    const customerAfterFirst = storedCustomer('contoso-bank');

    // Act
    const again = await answer('reject');

    // Assess
    expect(again).toEqual({ kind: 'already-decided' });
    expect(storedApproval(REQUEST_ID)).toMatchObject({ decision: 'approved', decidedBy: PRIYA });
    expect(storedCustomer('contoso-bank')).toEqual(customerAfterFirst);
    expect(tokensAnswered()).toHaveLength(1);
  });

  it('refuses an answer signed for the other action', async () => {
    // Act
    const result = await answerApproval(
      {
        link: linkOf(PRIYA),
        action: 'approve',
        signature: signApproval(linkOf(PRIYA), 'reject', SIGNING_KEY),
        confirmation: confirmationCode(linkOf(PRIYA), SIGNING_KEY),
      },
      SIGNING_KEY,
    );

    // Assess
    expect(result).toEqual({ kind: 'altered' });
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
  });
});
