import type { DateTime } from 'luxon';
import { firstFreeSlot } from '../core/one-at-a-time.js';
import { ReleaseStateError, TransientError } from '../shared/errors.js';
import type { CustomerRecord } from '../store/customers.js';
import { getStep, listStepMembers, reserveSlot } from '../store/steps.js';

const RESERVATION_ATTEMPTS = 50;

/**
 * The new slot of a customer of a one-at-a-time step (enterprise) whose date moved: its first window from
 * `earliest` on that keeps clear of every other deployment of the step still to come (the planned ones and
 * the slots other moved customers took), taken on the step so two customers moved at once never share a
 * night. Null when no window is left before the deadline. A retry finds the slot it took.
 */
export async function moveOneAtATime(
  release: string,
  customer: CustomerRecord,
  earliest: DateTime,
): Promise<string | null> {
  const members = await listStepMembers(release, customer.stepKey);
  for (let attempt = 0; attempt < RESERVATION_ATTEMPTS; attempt++) {
    const step = await getStep(release, customer.stepKey);
    if (!step) throw new ReleaseStateError(`${release} has no step ${customer.stepKey}`);
    const own = step.reserved.findLast((slot) => slot.customerId === customer.id);
    if (own && Date.parse(own.at) >= earliest.toMillis()) return own.at;
    const moved = new Map(step.reserved.map((slot) => [slot.customerId, slot.at]));
    const taken = [
      ...members.flatMap((member) =>
        member.id === customer.id || moved.has(member.id) || !member.deployAt ? [] : [member.deployAt],
      ),
      ...[...moved].flatMap(([id, at]) => (id === customer.id ? [] : [at])),
    ];
    const slot = firstFreeSlot(customer.window, earliest, customer.deadlineAt, taken);
    if (!slot) return null;
    const at = slot.toUTC().toISO({ suppressMilliseconds: true }) ?? '';
    if (await reserveSlot(release, step, { customerId: customer.id, at })) return at;
  }
  throw new TransientError(`could not take a slot for ${customer.id}: too many concurrent moves`);
}
