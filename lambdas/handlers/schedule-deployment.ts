import { DateTime } from 'luxon';
import { z } from 'zod';
import { firstWindowStartAtOrAfter } from '../core/maintenance-window.js';
import { now } from '../shared/clock.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { requireCustomer } from '../store/release-store.js';

const input = z.strictObject({ release: z.string(), customerId: z.string() });

/**
 * "Find maintenance window": the planned window, or, when the approval (or the notice) came later than
 * planned, the customer's next window before the policy deadline. `deployAt: null` means none is left:
 * the customer is held on its current version.
 */
export const handler = taskHandler(input, async ({ release, customerId }) => {
  const customer = await requireCustomer(release, customerId);
  if (!customer.deployAt) return { deployAt: null, reason: customer.unschedulableReason ?? 'not scheduled' };
  const leadDays = releaseConfig().config.policies[customer.policy].advanceNoticeDays;
  const noticeLeadEnds = customer.noticeSentAt
    ? DateTime.fromISO(customer.noticeSentAt).plus({ days: leadDays })
    : DateTime.fromISO(customer.deployAt);
  const earliest = DateTime.max(DateTime.fromISO(now()), noticeLeadEnds, DateTime.fromISO(customer.deployAt));
  if (earliest.toMillis() === Date.parse(customer.deployAt)) return { deployAt: customer.deployAt };
  const next = firstWindowStartAtOrAfter(customer.window, earliest, customer.deadlineAt);
  return next
    ? { deployAt: next.toUTC().toISO() }
    : {
        deployAt: null,
        reason: `no maintenance window left before the policy deadline ${customer.deadlineAt}`,
      };
});
