import { z } from 'zod';
import { firstWindowStartAtOrAfter } from '../core/maintenance-window.js';
import { now } from '../shared/clock.js';
import { ReleaseStateError } from '../shared/errors.js';
import { taskHandler } from '../shared/task.js';
import { getCustomer } from '../store/release-store.js';

const input = z.strictObject({ release: z.string(), customerId: z.string() });

/**
 * "Find maintenance window": the planned window, or, when an approval arrived after it opened, the
 * customer's next window before the policy deadline. `deployAt: null` means none is left: the customer
 * is held on its current version.
 */
export const handler = taskHandler(input, async ({ release, customerId }) => {
  const customer = await getCustomer(release, customerId);
  if (!customer) throw new ReleaseStateError(`No customer ${customerId} in release ${release}`);
  if (!customer.deployAt) return { deployAt: null, reason: customer.unschedulableReason ?? 'not scheduled' };
  const current = now();
  if (current <= customer.deployAt) return { deployAt: customer.deployAt };
  const next = firstWindowStartAtOrAfter(customer.window, current, customer.deadlineAt);
  const deployAt = next ? next.toUTC().toISO() : null;
  return deployAt
    ? { deployAt }
    : {
        deployAt: null,
        reason: `no maintenance window left before the policy deadline ${customer.deadlineAt}`,
      };
});
