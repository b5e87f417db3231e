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
  SIGNING_KEYS,
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
    SIGNING_KEYS,
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
      SIGNING_KEYS,
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
      SIGNING_KEYS,
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
      SIGNING_KEYS,
    );

    // Assess
    expect(result).toEqual({ kind: 'altered' });
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
  });
});

describe('answering an approval across key rotations', () => {
  const KEY_BEFORE = 'key-before-the-rotation-0123456789abcdef';
  const KEY_AFTER = 'key-after-the-rotation-0123456789abcdefg';
  const KEY_LATER = 'key-after-a-second-rotation-0123456789abc';
  const signedWith = (key: string) => ({
    approve: signApproval(linkOf(PRIYA), 'approve', key),
    reject: signApproval(linkOf(PRIYA), 'reject', key),
  });

  it('opens a link emailed before the rotation, with the code its key derives, and approves with that code', async () => {
    // Prepare
    const keysAfterRotation = { current: KEY_AFTER, previous: KEY_BEFORE };
    const emailed = signedWith(KEY_BEFORE);

    // Act
    const review = await reviewApproval(linkOf(PRIYA), emailed, keysAfterRotation);
    const shownCode = review.kind === 'open' ? review.confirmationCode : '';
    const result = await answerApproval(
      { link: linkOf(PRIYA), action: 'approve', signature: emailed.approve, confirmation: shownCode },
      keysAfterRotation,
    );

    // Assess
    expect(review.kind).toBe('open');
    expect(shownCode).toBe(confirmationCode(linkOf(PRIYA), KEY_BEFORE));
    expect(result).toMatchObject({ kind: 'approved', by: PRIYA });
    expect(tokensAnswered()).toEqual([expect.objectContaining({ token: TASK_TOKEN, outcome: 'success' })]);
  });

  it('takes the code only from the key that signed the link, not from the other one', async () => {
    // Prepare
    const keysAfterRotation = { current: KEY_AFTER, previous: KEY_BEFORE };

    // Act
    const result = await answerApproval(
      {
        link: linkOf(PRIYA),
        action: 'approve',
        signature: signApproval(linkOf(PRIYA), 'approve', KEY_BEFORE),
        confirmation: confirmationCode(linkOf(PRIYA), KEY_AFTER),
      },
      keysAfterRotation,
    );

    // Assess
    expect(result).toMatchObject({
      kind: 'unconfirmed',
      confirmationCode: confirmationCode(linkOf(PRIYA), KEY_BEFORE),
    });
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
  });

  it('refuses as altered a link signed with a key two rotations old, and decides nothing', async () => {
    // Prepare
    const keysAfterTwoRotations = { current: KEY_LATER, previous: KEY_AFTER };
    const emailed = signedWith(KEY_BEFORE);

    // Act
    const review = await reviewApproval(linkOf(PRIYA), emailed, keysAfterTwoRotations);
    const result = await answerApproval(
      {
        link: linkOf(PRIYA),
        action: 'approve',
        signature: emailed.approve,
        confirmation: confirmationCode(linkOf(PRIYA), KEY_BEFORE),
      },
      keysAfterTwoRotations,
    );

    // Assess
    expect(review).toEqual({ kind: 'altered' });
    expect(result).toEqual({ kind: 'altered' });
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(taskAnswerCalls()).toBe(0);
  });

  it('refuses a link whose two signatures come from different keys', async () => {
    // Act
    const review = await reviewApproval(
      linkOf(PRIYA),
      { approve: signedWith(KEY_BEFORE).approve, reject: signedWith(KEY_AFTER).reject },
      { current: KEY_AFTER, previous: KEY_BEFORE },
    );

    // Assess
    expect(review).toEqual({ kind: 'altered' });
  });
});
