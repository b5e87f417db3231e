import { z } from 'zod';
import { holdOf } from '../application/control.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { advanceNotice } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { now } from '../shared/clock.js';
import { optionalNumberEnv } from '../shared/env.js';
import { taskHandler } from '../shared/task.js';
import { countEmail } from '../store/audit.js';
import {
  applyTransition,
  claimCustomerField,
  listCustomersAwaitingNotice,
  updateCustomer,
} from '../store/customers.js';
import { requireRelease } from '../store/releases.js';

const input = z.strictObject({
  release: z.string(),
  asOf: z.iso.datetime({ offset: true }),
});

/**
 * "Send advance notices": emails every customer whose notice is due by `asOf`, once each. Sends at most
 * NOTICES_PER_RUN per invocation and reports `remaining`, so the state machine loops instead of one Lambda
 * outliving its timeout on a large fleet.
 */
export const handler = taskHandler(input, async ({ release, asOf: givenAsOf }) => {
  // The store compares ISO strings, so the instant must be in the same UTC form as the plan's.
  const asOf = new Date(givenAsOf).toISOString().replace('.000Z', 'Z');
  // A notice tells a date: none goes out while a halt holds the release.
  const hold = holdOf(await requireRelease(release));
  if (hold.kind !== 'none') return { sent: 0, remaining: false, halted: true, reason: hold.reason };
  const limit = optionalNumberEnv('NOTICES_PER_RUN', 200);
  // One more than this run sends tells whether more remain.
  const due = await listCustomersAwaitingNotice(release, asOf, limit + 1);
  let sent = 0;
  for (const customer of due.slice(0, limit)) {
    // Claim first: a retried run skips customers another run already emails (at most one notice each).
    const claimed = await claimCustomerField(release, customer.id, 'noticeClaimedAt', {
      noticeClaimedAt: now(),
    });
    if (!claimed || !customer.deployAt) continue;
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
    sent += 1;
  }
  return { sent, remaining: due.length > limit, halted: false };
});
