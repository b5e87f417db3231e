import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { confirmationCode, reviewUrl, signApproval } from '../../lambdas/core/approval-link.js';
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
} from './support/given.js';
import {
  confirmationCodeShownOn,
  headerOf,
  whenPosted,
  whenTheApproverPresses,
  whenTheLinkIsOpened,
} from './support/when.js';
import {
  APPROVAL_BASE_URL,
  emailsSent,
  givenFreshFunctionInstances,
  givenTheSigningKeysAre,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  SIGNING_KEY,
  signingSecretReads,
  taskAnswerCalls,
  tokensAnswered,
} from './support/world.js';

const REQUEST_ID = 'k3Jq9xV0bT2mWcYp8LrN4A';
const EXPIRES_AT = '2027-04-22T09:00:00Z';
const APPROVER = 'priya.raman@contoso.example.com';
const linkFor = (approver = APPROVER, key = SIGNING_KEY) =>
  reviewUrl(APPROVAL_BASE_URL, { requestId: REQUEST_ID, approver, expiresAt: EXPIRES_AT }, key);

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-03-23T10:15:00.000Z');
  givenRelease('running');
  givenCustomer(awaitingApproval(anEnterpriseCustomer({ approvalRequestId: REQUEST_ID })));
  givenApproval({
    id: REQUEST_ID,
    release: RELEASE,
    customerId: 'contoso-bank',
    approvers: [APPROVER, 'tom.okafor@contoso.example.com'],
    expiresAt: EXPIRES_AT,
    taskToken: 'approval-task-token',
  });
});
afterAll(restoreRealClock);

describe('handle-approval', () => {
  it('shows a review page asking to type a code shown as text, with Approve and Reject buttons', async () => {
    // Act
    const response = await whenTheLinkIsOpened(linkFor());

    // Assess
    expect(response.statusCode).toBe(200);
    expect(headerOf(response, 'Content-Type')).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('Approve SecureWatch v1.1.0 for contoso-bank?');
    const code = confirmationCodeShownOn(response);
    expect(code).toMatch(/^[A-Z2-9]{6}$/);
    expect(response.body).toContain('<input type="text" id="confirmation" name="confirmation" value=""');
    expect(response.body?.match(new RegExp(code, 'g'))).toHaveLength(1);
    expect(response.body).toMatch(/<button type="submit" name="action" value="approve"[^>]*>Approve</);
    expect(response.body).toMatch(/<button type="submit" name="action" value="reject"[^>]*>Reject</);
  });

  it('tells the approver which customer and which maintenance window, in their own time zone', async () => {
    // Prepare
    givenApproval({
      id: REQUEST_ID,
      release: RELEASE,
      customerId: 'contoso-bank',
      customerName: 'Contoso Bank',
      deployAt: '2027-04-11T05:00:00Z',
      timeZone: 'America/New_York',
      approvers: [APPROVER],
      expiresAt: EXPIRES_AT,
      taskToken: 'approval-task-token',
    });

    // Act
    const response = await whenTheLinkIsOpened(linkFor());

    // Assess
    expect(response.body).toContain('Approve SecureWatch v1.1.0 for Contoso Bank?');
    expect(response.body).toContain('Sun 2027-04-11 01:00 (EDT)');
  });

  it('serves the page uncached, without a referrer, and never inside a frame', async () => {
    // Act
    const response = await whenTheLinkIsOpened(linkFor());

    // Assess
    expect(headerOf(response, 'Cache-Control')).toBe('no-store');
    expect(headerOf(response, 'Referrer-Policy')).toBe('no-referrer');
    expect(headerOf(response, 'X-Frame-Options')).toBe('DENY');
    expect(headerOf(response, 'Content-Security-Policy')).toContain("frame-ancestors 'none'");
  });

  it('decides nothing when the page is posted without the code, as a scanner submitting the form does', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());

    // Act
    const response = await whenTheApproverPresses('Approve', page, linkFor(), { typed: '' });

    // Assess
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain('Type the confirmation code first');
    expect(confirmationCodeShownOn(response)).toBe(confirmationCodeShownOn(page));
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(storedCustomer('contoso-bank')?.state).toBe('awaiting-approval');
    expect(taskAnswerCalls()).toBe(0);
  });

  it('decides nothing with a wrong code and shows the page again to retry, which then decides', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());
    const tomsCode = confirmationCodeShownOn(
      await whenTheLinkIsOpened(linkFor('tom.okafor@contoso.example.com')),
    );

    // Act
    const wrong = await whenTheApproverPresses('Approve', page, linkFor(), { typed: tomsCode });
    const retried = await whenTheApproverPresses('Approve', wrong, linkFor());

    // Assess
    expect(wrong.statusCode).toBe(422);
    expect(wrong.body).toContain('The confirmation code does not match');
    expect(retried.statusCode).toBe(200);
    expect(storedApproval(REQUEST_ID)?.decision).toBe('approved');
  });

  it('takes the same fields as JSON from an API client, and answers 422 problem+json without the code', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());
    const link = new URL(linkFor());
    const fields = {
      action: 'approve',
      approver: APPROVER,
      expires: EXPIRES_AT,
      signature: link.searchParams.get('approve') ?? '',
    };

    // Act
    const withoutCode = await whenPosted(linkFor(), JSON.stringify(fields), 'application/json');
    const withCode = await whenPosted(
      linkFor(),
      JSON.stringify({ ...fields, confirmation: confirmationCodeShownOn(page) }),
      'application/json; charset=utf-8',
    );

    // Assess
    expect(withoutCode.statusCode).toBe(422);
    expect(headerOf(withoutCode, 'Content-Type')).toBe('application/problem+json');
    expect(JSON.parse(String(withCode.body))).toEqual({
      decision: 'approved',
      customerId: 'contoso-bank',
      release: RELEASE,
    });
  });

  it.each([
    ['text/plain', 'action=approve', 415],
    ['multipart/form-data; boundary=x', '--x--', 415],
    ['application/json', '{"action":', 400],
    ['application/json', '["approve"]', 400],
    ['application/json', '{"action":["approve"]}', 400],
    ['application/x-www-form-urlencoded', `action=approve&pad=${'a'.repeat(9000)}`, 413],
  ])('refuses a %s body %#, with %i, and decides nothing', async (contentType, body, status) => {
    // Act
    const response = await whenPosted(linkFor(), body, contentType, { accept: 'application/json' });

    // Assess
    expect(response.statusCode).toBe(status);
    expect(headerOf(response, 'Content-Type')).toBe('application/problem+json');
    expect(taskAnswerCalls()).toBe(0);
  });

  it('answers 414 for a link whose query string is far longer than any emailed one', async () => {
    // Act
    const response = await whenTheLinkIsOpened(`${linkFor()}&pad=${'x'.repeat(4096)}`);

    // Assess
    expect(response.statusCode).toBe(414);
  });

  it('answers 404 for an id over 128 characters without looking it up (DynamoDB refuses keys over 2 KB)', async () => {
    // Act
    const response = await whenTheLinkIsOpened(linkFor().replace(REQUEST_ID, 'k'.repeat(3000)));

    // Assess
    expect(response.statusCode).toBe(404);
  });

  it('decides nothing when the link is only opened, as mail scanners do', async () => {
    // Act
    await whenTheLinkIsOpened(linkFor());
    await whenTheLinkIsOpened(linkFor());

    // Assess
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(taskAnswerCalls()).toBe(0);
  });

  it('records an approval once and resumes the execution waiting on it', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());

    // Act
    const response = await whenTheApproverPresses('Approve', page, linkFor());

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('You approved SecureWatch v1.1.0 for contoso-bank.');
    expect(storedApproval(REQUEST_ID)).toMatchObject({
      decision: 'approved',
      decidedBy: APPROVER,
      decidedAt: '2027-03-23T10:15:00.000Z',
    });
    const customer = storedCustomer('contoso-bank');
    expect(customer).toMatchObject({
      state: 'approved',
      approvalDecision: 'approved',
      approvedBy: APPROVER,
    });
    expect(customer?.history.at(-1)).toEqual({
      state: 'approved',
      at: '2027-03-23T10:15:00.000Z',
      by: APPROVER,
      reason: 'approved on the review page',
    });
    expect(tokensAnswered()).toEqual([
      {
        token: 'approval-task-token',
        outcome: 'success',
        output: { decision: 'approved', approvedBy: APPROVER },
      },
    ]);
  });

  it('answers a second press with 409; the execution keeps the one answer it got', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());
    await whenTheApproverPresses('Approve', page, linkFor());

    // Act
    const response = await whenTheApproverPresses('Approve', page, linkFor());

    // Assess
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain('Already decided');
    expect(tokensAnswered()).toHaveLength(1);
  });

  it('does not let a second approver overturn the first decision', async () => {
    // Prepare
    const priyasPage = await whenTheLinkIsOpened(linkFor());
    const tomsPage = await whenTheLinkIsOpened(linkFor('tom.okafor@contoso.example.com'));
    await whenTheApproverPresses('Approve', priyasPage, linkFor());

    // Act
    const response = await whenTheApproverPresses(
      'Reject',
      tomsPage,
      linkFor('tom.okafor@contoso.example.com'),
    );

    // Assess
    expect(response.statusCode).toBe(409);
    expect(storedApproval(REQUEST_ID)?.decision).toBe('approved');
    expect(storedCustomer('contoso-bank')?.state).toBe('approved');
    expect(tokensAnswered()).toEqual([expect.objectContaining({ outcome: 'success' })]);
  });

  it('fails the execution with Approval.Rejected when the approver rejects', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());

    // Act
    await whenTheApproverPresses('Reject', page, linkFor());

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'approval-task-token',
        outcome: 'failure',
        error: 'Approval.Rejected',
        cause: `Rejected by ${APPROVER}`,
      },
    ]);
    expect(storedCustomer('contoso-bank')).toMatchObject({ state: 'rejected', approvalDecision: 'rejected' });
  });

  it('refuses a link whose signature was altered with 403', async () => {
    // Prepare
    const tampered = linkFor().replace(
      /approve=[^&]+/,
      'approve=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    );

    // Act
    const response = await whenTheLinkIsOpened(tampered);

    // Assess
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('Invalid link');
  });

  it('refuses a form post whose approver was swapped with 403 and decides nothing', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());

    // Act
    const response = await whenTheApproverPresses('Approve', page, linkFor(), {
      tamper: (form) => form.set('approver', 'tom.okafor@contoso.example.com'),
    });

    // Assess
    expect(response.statusCode).toBe(403);
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(taskAnswerCalls()).toBe(0);
  });

  it('answers an expired link with 410', async () => {
    // Prepare
    givenTheTimeIs('2027-04-22T09:00:01.000Z');

    // Act
    const response = await whenTheLinkIsOpened(linkFor());

    // Assess
    expect(response.statusCode).toBe(410);
    expect(response.body).toContain('Link expired');
  });

  it('refuses to decide on a page opened before the link expired and posted after', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());
    givenTheTimeIs('2027-04-23T08:00:00.000Z');

    // Act
    const response = await whenTheApproverPresses('Approve', page, linkFor());

    // Assess
    expect(response.statusCode).toBe(410);
    expect(taskAnswerCalls()).toBe(0);
  });

  it('answers a client that accepts JSON with application/problem+json', async () => {
    // Prepare
    givenTheTimeIs('2027-04-22T09:00:01.000Z');

    // Act
    const response = await whenTheLinkIsOpened(linkFor(), { accept: 'application/json' });

    // Assess
    expect(response.statusCode).toBe(410);
    expect(headerOf(response, 'Content-Type')).toBe('application/problem+json');
    expect(JSON.parse(String(response.body))).toEqual({
      type: 'about:blank',
      status: 410,
      title: 'Link expired',
      detail: 'This approval request has expired. Ask the release manager for a new one.',
    });
  });

  it('answers an unknown request id with 404', async () => {
    // Act
    const response = await whenTheLinkIsOpened(linkFor().replace(REQUEST_ID, 'no-such-request'), {
      accept: 'application/json',
    });

    // Assess
    expect(response.statusCode).toBe(404);
    expect(headerOf(response, 'Content-Type')).toBe('application/problem+json');
  });

  it('resumes the execution that asked, from the link in the emailed request', async () => {
    // Prepare
    givenCustomer(anEnterpriseCustomer({ id: 'fabrikam-health', name: 'Fabrikam Health' }));
    await requestApproval({
      release: RELEASE,
      customerId: 'fabrikam-health',
      taskToken: 'token-from-the-workflow',
    });
    const emailedLink = /Review: (\S+)/.exec(emailsSent()[1]?.text ?? '')?.[1] ?? '';
    const page = await whenTheLinkIsOpened(emailedLink);

    // Act
    await whenTheApproverPresses('Approve', page, emailedLink);

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'token-from-the-workflow',
        outcome: 'success',
        output: { decision: 'approved', approvedBy: 'tom.okafor@contoso.example.com' },
      },
    ]);
  });

  it('decides nothing while the release is halted, answering 423', async () => {
    // Prepare
    const page = await whenTheLinkIsOpened(linkFor());
    givenRelease('halted');

    // Act
    const response = await whenTheApproverPresses('Approve', page, linkFor());

    // Assess
    expect(response.statusCode).toBe(423);
    expect(response.body).toContain('Release halted');
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(storedCustomer('contoso-bank')?.state).toBe('awaiting-approval');
    expect(taskAnswerCalls()).toBe(0);
  });
});

describe('handle-approval across rotations of the signing key', () => {
  const KEY_AFTER = 'key-after-the-rotation-0123456789abcdefg';
  const KEY_LATER = 'key-after-a-second-rotation-0123456789abc';

  it('opens, after a rotation, a link emailed before it, and approves with the code the page shows', async () => {
    // Prepare
    givenCustomer(anEnterpriseCustomer({ id: 'fabrikam-health', name: 'Fabrikam Health' }));
    await requestApproval({ release: RELEASE, customerId: 'fabrikam-health', taskToken: 'token-before' });
    const emailedLink = /Review: (\S+)/.exec(emailsSent()[0]?.text ?? '')?.[1] ?? '';
    givenTheSigningKeysAre({ current: KEY_AFTER, previous: SIGNING_KEY });
    givenFreshFunctionInstances();

    // Act
    const page = await whenTheLinkIsOpened(emailedLink);
    const response = await whenTheApproverPresses('Approve', page, emailedLink);

    // Assess
    expect(page.statusCode).toBe(200);
    expect(response.statusCode).toBe(200);
    expect(tokensAnswered()).toEqual([
      expect.objectContaining({ token: 'token-before', outcome: 'success' }),
    ]);
  });

  it('refuses with 403 a link signed with a key two rotations old, and decides nothing', async () => {
    // Prepare
    givenTheSigningKeysAre({ current: KEY_LATER, previous: KEY_AFTER });
    givenFreshFunctionInstances();

    // Act
    const page = await whenTheLinkIsOpened(linkFor());
    const link = { requestId: REQUEST_ID, approver: APPROVER, expiresAt: EXPIRES_AT };
    const posted = await whenPosted(
      linkFor(),
      new URLSearchParams({
        action: 'approve',
        approver: APPROVER,
        expires: EXPIRES_AT,
        signature: signApproval(link, 'approve', SIGNING_KEY),
        confirmation: confirmationCode(link, SIGNING_KEY),
      }).toString(),
      'application/x-www-form-urlencoded',
    );

    // Assess
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('Invalid link');
    expect(posted.statusCode).toBe(403);
    expect(storedApproval(REQUEST_ID)?.decision).toBeUndefined();
    expect(taskAnswerCalls()).toBe(0);
  });

  it('reads the keys once for many pages, and again when a link signed with a newer key arrives', async () => {
    // Prepare
    for (let page = 0; page < 5; page++) await whenTheLinkIsOpened(linkFor());
    givenTheSigningKeysAre({ current: KEY_AFTER, previous: SIGNING_KEY });

    // Act
    const response = await whenTheLinkIsOpened(linkFor(APPROVER, KEY_AFTER));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(signingSecretReads()).toBe(2);
  });

  it('does not read the keys again for every altered link', async () => {
    // Prepare
    const tampered = linkFor().replace(/approve=[^&]+/, `approve=${'A'.repeat(43)}`);

    // Act
    const responses = [];
    for (let attempt = 0; attempt < 5; attempt++) responses.push(await whenTheLinkIsOpened(tampered));

    // Assess
    expect(responses.map((response) => response.statusCode)).toEqual([403, 403, 403, 403, 403]);
    expect(signingSecretReads()).toBe(2);
  });
});
