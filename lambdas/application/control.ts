import { now } from '../shared/clock.js';
import { ReleaseAbortedError, ReleaseHaltedError, ReleaseStateError } from '../shared/errors.js';
import type { CustomerRecord } from '../store/customers.js';
import { getRelease, type ReleaseRecord } from '../store/releases.js';

// A halt is sticky: every task that would deploy, notify about a new date or ask for approval calls
// `assertMayProceed` first and does nothing while a halt holds the release or the customer.

export type Hold =
  | { kind: 'none' }
  | { kind: 'halted'; reason: string }
  | { kind: 'aborted'; reason: string };

/** What holds this release (and, when given, this customer) now. A paused release holds too. */
export function holdOf(release: ReleaseRecord, customer?: Pick<CustomerRecord, 'halt' | 'state'>): Hold {
  if (release.status === 'aborted' || customer?.state === 'cancelled')
    return { kind: 'aborted', reason: release.abortReason ?? 'the release was aborted' };
  if (release.status === 'halted' || release.status === 'paused')
    return { kind: 'halted', reason: release.pause?.reason ?? 'the release is halted' };
  if (customer?.halt) return { kind: 'halted', reason: customer.halt.reason };
  return { kind: 'none' };
}

/** Throws `Release.Halted` or `Release.Aborted` (the workflow parks or cancels) unless free to go on. */
export async function assertMayProceed(
  release: string,
  customer?: Pick<CustomerRecord, 'halt' | 'state'>,
): Promise<ReleaseRecord> {
  const record = await getRelease(release);
  if (!record) throw new ReleaseStateError(`No release ${release} has been planned`);
  const hold = holdOf(record, customer);
  if (hold.kind === 'halted') throw new ReleaseHaltedError(hold.reason);
  if (hold.kind === 'aborted') throw new ReleaseAbortedError(hold.reason);
  return record;
}

/** What a parked customer rollout is answered on resume: go on, with the seconds its approval may still wait. */
export function rolloutResumption(customer: Pick<CustomerRecord, 'deadlineAt'>): {
  decision: 'resume';
  approvalTimeoutSeconds: number;
} {
  return { decision: 'resume', approvalTimeoutSeconds: secondsUntil(customer.deadlineAt) };
}

/** Seconds from now to `deadlineAt`, at least one: a wait that ends at the policy deadline. */
export function secondsUntil(deadlineAt: string): number {
  return Math.max(1, Math.floor((Date.parse(deadlineAt) - Date.parse(now())) / 1000));
}
