import { TRANSITIONS } from '../core/lifecycle.js';
import { advanceNotice } from '../email/messages.js';
import { MAX_BATCH_ENTRIES, MAX_DESTINATIONS, type OutgoingEmail, sendEmails } from '../email/send.js';
import { now } from '../shared/clock.js';
import { countEmail } from '../store/audit.js';
import {
  applyTransition,
  type CustomerRecord,
  claimCustomerField,
  listCustomersAwaitingNotice,
  updateCustomer,
} from '../store/customers.js';
import { requireRelease } from '../store/releases.js';
import { holdOf } from './control.js';

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
 * Emails every customer whose notice is due by `asOf`, once each, at most `limit` per run, in customer id
 * order from after `cursor`. Every customer before the cursor was examined by an earlier run of the same
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
  const sent = await sendNotices(release, batch);
  const remaining = due.length > limit;
  return { sent, remaining, cursor: remaining ? (batch.at(-1)?.id ?? null) : null, halted: false };
}

interface ClaimedNotice {
  customer: CustomerRecord & { deployAt: string };
  email: OutgoingEmail;
}

/**
 * Claims each customer's notice, then queues the claimed notices in as few queue calls as SQS allows
 * (10 messages each), marking each customer noticed once its notices are queued. When the queue refuses,
 * the claims of every notice not queued are given back before the error is rethrown, so a retry sends them.
 */
async function sendNotices(release: string, customers: CustomerRecord[]): Promise<number> {
  const claimed: ClaimedNotice[] = [];
  for (const customer of customers) {
    const notice = await claimNotice(release, customer);
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
        { at: now(), by: 'send-notices', reason: `told of ${customer.deployAt}` },
        { noticeSentAt: now(), notifiedDeployAt: customer.deployAt },
      );
    await countEmail(release, 'advance-notice', chunk.length);
  }
  return claimed.length;
}

/** Claim first: a retried run skips customers another run already emails (at most one notice each). */
async function claimNotice(release: string, customer: CustomerRecord): Promise<ClaimedNotice | undefined> {
  const claimed = await claimCustomerField(release, customer.id, 'noticeClaimedAt', {
    noticeClaimedAt: now(),
  });
  const { deployAt } = customer;
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
