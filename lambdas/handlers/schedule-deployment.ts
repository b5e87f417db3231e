import { DateTime } from 'luxon';
import { z } from 'zod';
import { assertMayProceed } from '../application/control.js';
import { moveOneAtATime } from '../application/one-at-a-time.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { firstWindowStartAtOrAfter } from '../core/maintenance-window.js';
import { updatedNotice } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { now } from '../shared/clock.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { countEmail } from '../store/audit.js';
import {
  applyTransition,
  type CustomerRecord,
  requireCustomer,
  swapCustomerField,
} from '../store/customers.js';
import { getStep } from '../store/steps.js';

const input = z.strictObject({ release: z.string(), customerId: z.string() });

/**
 * "Find maintenance window": the planned window, or, when the approval, the notice or a halt came later
 * than planned, the customer's next window before the policy deadline. `deployAt: null` means none is
 * left: the customer is held on its current version. A customer told another date gets an updated notice,
 * once per move.
 */
export const handler = taskHandler(input, async ({ release, customerId }) => {
  const customer = await requireCustomer(release, customerId);
  if (!customer.deployAt) return { deployAt: null, reason: customer.unschedulableReason ?? 'not scheduled' };
  await assertMayProceed(release, customer);
  const deployAt = await nextSlot(release, customer, customer.deployAt);
  if (!deployAt)
    return {
      deployAt: null,
      reason: `no maintenance window left before the policy deadline ${customer.deadlineAt}`,
    };
  // A retried run that finds the customer already scheduled for this instant writes nothing twice.
  const alreadyScheduled = customer.state === 'scheduled' && customer.scheduledAt === deployAt;
  if (!alreadyScheduled)
    await applyTransition(
      release,
      customerId,
      TRANSITIONS.schedule,
      { at: now(), by: 'schedule-deployment', reason: `deploys at ${deployAt}` },
      { scheduledAt: deployAt },
    );
  await tellNewDate(release, customer, deployAt);
  return { deployAt };
});

async function nextSlot(
  release: string,
  customer: CustomerRecord,
  plannedAt: string,
): Promise<string | null> {
  const leadDays = releaseConfig().config.policies[customer.policy].advanceNoticeDays;
  const noticeLeadEnds = customer.noticeSentAt
    ? DateTime.fromISO(customer.noticeSentAt).plus({ days: leadDays })
    : DateTime.fromISO(plannedAt);
  const earliest = DateTime.max(DateTime.fromISO(now()), noticeLeadEnds, DateTime.fromISO(plannedAt));
  if (earliest.toMillis() === Date.parse(plannedAt)) return plannedAt;
  // One at a time (enterprise): the moved customer keeps clear of the step's other deployments.
  if ((await getStep(release, customer.stepKey))?.oneAtATime)
    return moveOneAtATime(release, customer, earliest);
  const next = firstWindowStartAtOrAfter(customer.window, earliest, customer.deadlineAt);
  return next ? (next.toUTC().toISO({ suppressMilliseconds: true }) ?? null) : null;
}

/** An updated notice when the customer was told another date: claimed by moving the date it was told. */
async function tellNewDate(release: string, customer: CustomerRecord, deployAt: string): Promise<void> {
  const told = customer.notifiedDeployAt;
  if (!customer.noticeSentAt || !told || Date.parse(told) === Date.parse(deployAt)) return;
  if (!(await swapCustomerField(release, customer.id, 'notifiedDeployAt', told, deployAt))) return;
  try {
    await sendEmail(
      customer.contacts.map((contact) => contact.email),
      updatedNotice({
        customerName: customer.name,
        release,
        deployAt,
        previousDeployAt: told,
        timeZone: customer.timeZone,
      }),
    );
  } catch (error) {
    await swapCustomerField(release, customer.id, 'notifiedDeployAt', deployAt, told);
    throw error;
  }
  await countEmail(release, 'updated-notice');
}
