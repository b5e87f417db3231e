import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getApproval } from '../../lambdas/store/approvals.js';
import { getCustomer } from '../../lambdas/store/customers.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import type { LocalCloud } from '../../local/local-cloud.js';
import { approveFromInbox, type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// A mail scanner in a real browser: it opens every link of every approval email, lets scripts run and
// submits every form it finds, every way a script can. None of that may decide anything. Then a person
// in the same browser reads the email in the local inbox, follows the link, types the code the page
// shows, presses Approve, and the release moves on.

const CHROMIUM = '/usr/bin/chromium';

type Submission = { link: string; how: string; status: number };
type Scan = { requestId: string; customerId: string; links: number; decision?: string; state?: string };

let browser: Browser;
const submissions: Submission[] = [];
const scans: Scan[] = [];
const failures: string[] = [];
let person: { approver: string; customerId: string; thanked: string; framed: string } | undefined;
let outcome: RehearsalOutcome;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM });
  const scanned = new Set<string>();
  let queue = Promise.resolve();
  outcome = await rehearse({
    version: 'v1.1.0',
    startAt: '2027-03-01T09:00:00Z',
    msPerDay: 0,
    autoApprove: false,
    scenario: scenarioSchema.parse({}),
    onReady: (local) => {
      local.onInvoked(({ fn, payload, result }) => {
        if (fn.operation !== 'request-approval' || !result) return;
        const { customerId } = payload as { customerId: string };
        const { requestId } = result as { requestId: string };
        // One request at a time, as one scanner would; the pending approval holds simulated time meanwhile.
        queue = queue.then(async () => {
          try {
            const links = (await approvalLinksIn(local)).filter(
              (link) => link.includes(`/approvals/${requestId}?`) && !scanned.has(link),
            );
            for (const link of links) scanned.add(link);
            await Promise.all(links.map(scan));
            const approval = await getApproval(requestId);
            const customer = await getCustomer('v1.1.0', customerId);
            scans.push({
              requestId,
              customerId,
              links: links.length,
              decision: approval?.decision,
              state: customer?.state,
            });
            if (!person) person = await approveAsAPerson(local, requestId, customerId);
          } catch (error) {
            failures.push(`${customerId}: ${(error as Error).stack ?? error}`);
          } finally {
            const decided = (await getApproval(requestId))?.decision;
            if (!decided) await approveFromInbox(local, requestId);
          }
        });
      });
    },
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

/** Every link in every approval email sent so far, from the HTML and the text body. */
async function approvalLinksIn(local: LocalCloud): Promise<string[]> {
  // Emails go through the queue: the request's email is in the inbox once the queue is drained.
  await local.queues.drained();
  const emails = (await local.email.listEmails()).filter((email) =>
    email.subject.startsWith('Approval needed'),
  );
  const links = emails.flatMap((email) => [
    ...[...(email.html ?? '').matchAll(/href="([^"]+)"/g)].map((match) => unescapeHtml(match[1] ?? '')),
    ...[...(email.text ?? '').matchAll(/https?:\/\/\S+/g)].map((match) => match[0]),
  ]);
  return [...new Set(links)];
}

const WAYS_TO_SUBMIT = [
  'form.submit()',
  'form.requestSubmit()',
  'form.requestSubmit(each button)',
  'click each button',
] as const;

/** Opens `link` afresh for every form and every way to submit it, as a scanner that tries them all. */
async function scan(link: string): Promise<void> {
  const page = await browser.newPage();
  try {
    await page.goto(link);
    const forms = await page.locator('form').count();
    const buttons = await page.locator('form button, form input[type=submit]').count();
    for (const how of WAYS_TO_SUBMIT) {
      const targets = how.includes('each button') ? buttons : forms;
      for (let index = 0; index < targets; index++) {
        await page.goto(link);
        await submitOnce(page, link, how, index);
      }
    }
  } finally {
    await page.close();
  }
}

async function submitOnce(page: Page, link: string, how: (typeof WAYS_TO_SUBMIT)[number], index: number) {
  const posted = page.waitForResponse((response) => response.request().method() === 'POST');
  const loaded = page.waitForEvent('load');
  // Whether the browser sends anything: requestSubmit and clicks validate the form first, submit() does not.
  const sends = (await page.evaluate(`(() => {
    const how = ${JSON.stringify(how)};
    const index = ${index};
    const buttons = [...document.querySelectorAll('form button, form input[type=submit]')];
    if (how === 'form.submit()') {
      document.forms[index].submit();
      return true;
    }
    const form = how === 'form.requestSubmit()' ? document.forms[index] : buttons[index].form;
    const willSend = form.checkValidity();
    if (how === 'form.requestSubmit()') form.requestSubmit();
    else if (how === 'form.requestSubmit(each button)') form.requestSubmit(buttons[index]);
    else buttons[index].click();
    return willSend;
  })()`)) as boolean;
  if (!sends) {
    posted.catch(() => undefined);
    loaded.catch(() => undefined);
    submissions.push({ link, how, status: 0 });
    return;
  }
  const [response] = await Promise.all([posted, loaded]);
  submissions.push({ link, how, status: response.status() });
}

/** Reads the request in the local inbox, follows its link, types the code shown, presses Approve. */
async function approveAsAPerson(local: LocalCloud, requestId: string, customerId: string) {
  const approval = (await local.email.listEmails()).find((email) =>
    (email.html ?? '').includes(`/approvals/${requestId}?`),
  );
  if (!approval) throw new Error('No approval email in the inbox');
  const approver = (approval.to[0] ?? '').toLowerCase();
  const inbox = await browser.newPage();
  try {
    await inbox.goto(local.email.inboxUrl);
    const email = inbox.locator('article').filter({ hasText: approver }).first();
    const message = email.locator('iframe').contentFrame();
    const [review] = await Promise.all([inbox.waitForEvent('popup'), message.getByRole('link').click()]);
    await review.waitForLoadState();
    const code = (await review.locator('#confirmation-code').textContent()) ?? '';
    await review.getByLabel(/type the code/).fill(code);
    await review.getByRole('button', { name: 'Approve' }).click();
    await review.getByRole('heading', { name: 'Thank you' }).waitFor();
    const thanked = (await review.locator('body').textContent()) ?? '';
    // The same page framed by another site stays blank: the browser refuses to show it.
    await inbox.setContent(`<iframe src="${review.url()}"></iframe>`);
    const framed = (await inbox.locator('iframe').contentFrame().locator('body').textContent()) ?? '';
    await review.close();
    return { approver, customerId, thanked, framed };
  } finally {
    await inbox.close();
  }
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replaceAll('&amp;', '&');
}

describe('approval emails opened by a mail scanner in a real browser', () => {
  it('runs without a failure in the scanner or the person', () => {
    expect(failures).toEqual([]);
  });

  it('opens every link of every approval email and submits every form every way a script can', () => {
    expect(scans.length).toBeGreaterThan(0);
    expect(scans.reduce((sum, scan) => sum + scan.links, 0)).toBe(outcome.emails['approval-request']);
    const ways = new Set(submissions.map((submission) => submission.how));
    expect([...ways]).toEqual([...WAYS_TO_SUBMIT]);
    expect(submissions.filter((submission) => submission.status !== 0).length).toBeGreaterThan(0);
  });

  it('decides nothing: every submission is refused and every request is still pending after the scan', () => {
    const sent = submissions.filter((submission) => submission.status !== 0);
    expect(sent.every((submission) => submission.status >= 400 && submission.status < 500)).toBe(true);
    expect(scans.map((scan) => [scan.customerId, scan.decision, scan.state])).toEqual(
      scans.map((scan) => [scan.customerId, undefined, 'awaiting-approval']),
    );
  });

  it('lets a person approve from the inbox by typing the code the page shows, and the release moves on', () => {
    expect(person?.thanked).toContain('You approved SecureWatch v1.1.0');
    const approved = outcome.customers.find((customer) => customer.id === person?.customerId);
    expect(approved).toMatchObject({ outcome: 'deployed', approvedBy: person?.approver });
    expect(outcome.status).toBe('SUCCEEDED');
  });

  it('is never shown inside another site’s frame (the page now says "Already decided" when opened)', () => {
    expect(person?.framed).toBeDefined();
    expect(person?.framed).not.toContain('Already decided');
  });
});
