import { TRANSITIONS } from '../core/lifecycle.js';
import { advanceNotice } from '../email/messages.js';
import { MAX_BATCH_ENTRIES, MAX_DESTINATIONS, type OutgoingEmail, sendEmails } from '../email/send.js';
import { now } from '../shared/clock.js';
import { countEmail } from '../store/audit.js';
import {
  applyTransition,
  type CustomerRecord,
  claimCustomerField,
  customersOfPhase,
  listCustomersAwaitingNotice,
  updateCustomer,
} from '../store/customers.js';
import { requireRelease } from '../store/releases.js';
import { assertReleaseOpen, holdOf } from './control.js';

export interface NoticeRun {
  sent: number;
  /** Whether more customers may be due: the caller runs again, passing `cursor` on. */
  remaining: boolean;
  /**
   * The id of the last customer this run emailed when more remain: the next run of the same loop starts
   * after it. Null when none remain or the release is halted (a loop after a halt starts from the first).
   */
  cursor: string | null;
  halted: boolean;
  reason?: string;
}

/**
 * Emails every customer whose notice is due by `asOf`, once each, at most `limit` per run, from after
 * `cursor` in the store's order (partition by partition, by id within one). Every customer before the cursor was examined by an earlier run of the same
 * loop (same `asOf`): emailed, or not due then and not due now. A retried run passes the same cursor and the
 * claim on each customer keeps it to one notice; nothing goes out while a halt holds the release.
 */
export async function sendDueNotices(
  release: string,
  asOf: string,
  limit: number,
  cursor?: string | null,
): Promise<NoticeRun> {
  // The store compares ISO strings, so the instant must be in the same UTC form as the plan's.
  const instant = new Date(asOf).toISOString().replace('.000Z', 'Z');
  const hold = holdOf(await requireRelease(release));
  if (hold.kind !== 'none')
    return { sent: 0, remaining: false, cursor: null, halted: true, reason: hold.reason };
  // One more than this run sends tells whether more remain.
  const due = await listCustomersAwaitingNotice(release, instant, limit + 1, cursor ?? undefined);
  const batch = due.slice(0, limit);
  const sent = (await sendNotices(release, batch.map(toldOfItsPlan))).length;
  const remaining = due.length > limit;
  return { sent, remaining, cursor: remaining ? (batch.at(-1)?.id ?? null) : null, halted: false };
}

interface ClaimedNotice {
  customer: CustomerRecord & { deployAt: string };
  email: OutgoingEmail;
}

/** A notice telling the customer the date it was planned for. */
const toldOfItsPlan = (customer: CustomerRecord): NoticeToSend => ({ customer, deployAt: customer.deployAt });

interface NoticeToSend {
  customer: CustomerRecord;
  /** The date the notice tells; none known, nothing is sent (the claim is kept: nothing to tell). */
  deployAt: string | null;
}

/**
 * Claims each customer's notice, then queues the claimed notices in as few queue calls as SQS allows
 * (10 messages each), marking each customer noticed once its notices are queued. When the queue refuses,
 * the claims of every notice not queued are given back before the error is rethrown, so a retry sends them.
 */
async function sendNotices(release: string, notices: NoticeToSend[], by = 'send-notices'): Promise<string[]> {
  const claimed: ClaimedNotice[] = [];
  for (const { customer, deployAt } of notices) {
    const notice = await claimNotice(release, customer, deployAt);
    if (notice) claimed.push(notice);
  }
  const chunks = inQueueCalls(claimed);
  for (const [index, chunk] of chunks.entries()) {
    try {
      await sendEmails(chunk.map((notice) => notice.email));
    } catch (error) {
      for (const notice of chunks.slice(index).flat())
        await updateCustomer(release, notice.customer.id, {}, ['noticeClaimedAt']);
      throw error;
    }
    for (const { customer } of chunk)
      await applyTransition(
        release,
        customer.id,
        TRANSITIONS.notice,
        { at: now(), by, reason: `told of ${customer.deployAt}` },
        { noticeSentAt: now(), notifiedDeployAt: customer.deployAt },
      );
    await countEmail(release, 'advance-notice', chunk.length);
  }
  return claimed.map((notice) => notice.customer.id);
}

/** Claim first: a retried run skips customers another run already emails (at most one notice each). */
async function claimNotice(
  release: string,
  customer: CustomerRecord,
  deployAt: string | null,
): Promise<ClaimedNotice | undefined> {
  const claimed = await claimCustomerField(release, customer.id, 'noticeClaimedAt', {
    noticeClaimedAt: now(),
  });
  if (!claimed || !deployAt) return undefined;
  return {
    customer: { ...customer, deployAt },
    email: {
      to: customer.contacts.map((contact) => contact.email),
      message: advanceNotice({
        customerName: customer.name,
        release,
        deployAt,
        timeZone: customer.timeZone,
        approvalRequired: customer.approvalRequired,
      }),
    },
  };
}

/** Notices grouped so each group is one SendMessageBatch (an email to over 50 contacts is several messages). */
function inQueueCalls(notices: ClaimedNotice[]): ClaimedNotice[][] {
  const chunks: ClaimedNotice[][] = [];
  let chunk: ClaimedNotice[] = [];
  let messages = 0;
  for (const notice of notices) {
    const count = Math.max(1, Math.ceil(notice.email.to.length / MAX_DESTINATIONS));
    if (chunk.length > 0 && messages + count > MAX_BATCH_ENTRIES) {
      chunks.push(chunk);
      chunk = [];
      messages = 0;
    }
    chunk.push(notice);
    messages += count;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Tells one customer, now, that it deploys at `deployAt` (an early deployment): its advance notice, once;
 * false when its notice was already taken (sent before, or being sent by another run).
 */
export async function sendNoticeNow(
  release: string,
  customer: CustomerRecord,
  deployAt: string,
  by: string,
): Promise<boolean> {
  return (await sendNotices(release, [{ customer, deployAt }], by)).length > 0;
}

/**
 * What `send-notifications --phase P` did: the customers it emailed now, and why the others of the phase got
 * nothing from it. JSON: `{ release, phase, sent: string[], alreadySent: string[], noNoticeNeeded: string[],
 * noDateYet: string[], haltedCustomers: string[], pastNotice: string[] }` (customer ids).
 */
export interface PhaseNotices {
  release: string;
  phase: CustomerRecord['phase'];
  /** Emailed now: their notice, brought forward, tells their planned deployment instant. */
  sent: string[];
  /** Told before (by the workflow, an earlier run or an early deployment): not emailed again. */
  alreadySent: string[];
  /** Their policy gives no advance notice (e.g. demo, 0 days). */
  noNoticeNeeded: string[];
  /** No deployment instant is known for them (no window before their deadline): nothing to tell yet. */
  noDateYet: string[];
  /** Halted on their own: no notice goes out until they are resumed. */
  haltedCustomers: string[];
  /** Their rollout went on without a notice (forced early) or has ended: no notice to send. */
  pastNotice: string[];
}

const PHASE_NOTICE_CHUNK = 25;

/**
 * Sends the advance notice of every customer of `phase` not told yet, now, once each: brought forward from
 * its planned notice time, it tells the customer's planned deployment instant (notifying earlier only adds
 * lead time, so the deployment keeps its planned date). Claims keep it to one notice per customer against a
 * rerun and the workflow's own notice run; nothing goes out while a halt holds the release.
 */
export async function sendPhaseNotices(
  release: string,
  phase: CustomerRecord['phase'],
  options: { by: string; progress?: (line: string) => void },
): Promise<PhaseNotices> {
  await assertReleaseOpen(release, 'no notice goes out');
  const result: PhaseNotices = {
    release,
    phase,
    sent: [],
    alreadySent: [],
    noNoticeNeeded: [],
    noDateYet: [],
    haltedCustomers: [],
    pastNotice: [],
  };
  const due: CustomerRecord[] = [];
  for await (const customer of customersOfPhase(release, phase)) {
    if (customer.noticeSentAt || (customer.noticeClaimedAt && customer.state !== 'planned'))
      result.alreadySent.push(customer.id);
    else if (customer.noticeAt === null) result.noNoticeNeeded.push(customer.id);
    else if (customer.state !== 'planned' || customer.earlyDeployment) result.pastNotice.push(customer.id);
    else if (customer.deployAt === null) result.noDateYet.push(customer.id);
    else if (customer.halt) result.haltedCustomers.push(customer.id);
    else due.push(customer);
  }
  for (let index = 0; index < due.length; index += PHASE_NOTICE_CHUNK) {
    const chunk = due.slice(index, index + PHASE_NOTICE_CHUNK);
    const sent = new Set(await sendNotices(release, chunk.map(toldOfItsPlan), options.by));
    for (const customer of chunk)
      (sent.has(customer.id) ? result.sent : result.alreadySent).push(customer.id);
    if (due.length > PHASE_NOTICE_CHUNK)
      options.progress?.(`${Math.min(index + chunk.length, due.length)} of ${due.length} notices done`);
  }
  return result;
}
