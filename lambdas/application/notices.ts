import { TRANSITIONS } from '../core/lifecycle.js';
import { advanceNotice } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
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
  let sent = 0;
  for (const customer of batch) if (await sendNotice(release, customer)) sent += 1;
  const remaining = due.length > limit;
  return { sent, remaining, cursor: remaining ? (batch.at(-1)?.id ?? null) : null, halted: false };
}

async function sendNotice(release: string, customer: CustomerRecord): Promise<boolean> {
  // Claim first: a retried run skips customers another run already emails (at most one notice each).
  const claimed = await claimCustomerField(release, customer.id, 'noticeClaimedAt', {
    noticeClaimedAt: now(),
  });
  if (!claimed || !customer.deployAt) return false;
  const message = advanceNotice({
    customerName: customer.name,
    release,
    deployAt: customer.deployAt,
    timeZone: customer.timeZone,
    approvalRequired: customer.approvalRequired,
  });
  try {
    await sendEmail(
      customer.contacts.map((contact) => contact.email),
      message,
    );
  } catch (error) {
    await updateCustomer(release, customer.id, {}, ['noticeClaimedAt']);
    throw error;
  }
  await applyTransition(
    release,
    customer.id,
    TRANSITIONS.notice,
    { at: now(), by: 'send-notices', reason: `told of ${customer.deployAt}` },
    { noticeSentAt: now(), notifiedDeployAt: customer.deployAt },
  );
  await countEmail(release, 'advance-notice');
  return true;
}
