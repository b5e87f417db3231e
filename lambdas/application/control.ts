import { UserFacingError } from '../core/errors.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { now } from '../shared/clock.js';
import {
  CustomerSupersededError,
  ReleaseAbortedError,
  ReleaseHaltedError,
  ReleaseStateError,
  WORKFLOW_ERRORS,
} from '../shared/errors.js';
import { resumeWithFailure, resumeWithSuccess } from '../shared/step-functions.js';
import {
  applyTransition,
  type CustomerRecord,
  parkRollout,
  requireCustomer,
  unparkRollout,
} from '../store/customers.js';
import { getRelease, type ReleaseHold, type ReleaseRecord, requireRelease } from '../store/releases.js';

// A halt is sticky: every task that would deploy, notify about a new date or ask for approval calls
// `assertMayProceed` first and does nothing while a halt holds the release or the customer.

export type Hold =
  | { kind: 'none' }
  | { kind: 'halted'; reason: string }
  | { kind: 'aborted'; reason: string };

type HeldRelease = Pick<ReleaseHold, 'status' | 'pause' | 'abortReason'>;

type HeldCustomer = Pick<CustomerRecord, 'halt' | 'state'> & Partial<Pick<CustomerRecord, 'outcomeReason'>>;

/**
 * What holds this release (and, when given, this customer) now. A paused release holds too. A customer a
 * newer release took over is held for good, like a cancelled one (assertMayProceed names it superseded).
 */
export function holdOf(release: HeldRelease, customer?: HeldCustomer): Hold {
  if (customer?.state === 'superseded')
    return { kind: 'aborted', reason: customer.outcomeReason ?? 'superseded by a newer release' };
  if (release.status === 'aborted' || customer?.state === 'cancelled')
    return { kind: 'aborted', reason: release.abortReason ?? 'the release was aborted' };
  if (release.status === 'halted' || release.status === 'paused')
    return { kind: 'halted', reason: release.pause?.reason ?? 'the release is halted' };
  if (customer?.halt) return { kind: 'halted', reason: customer.halt.reason };
  return { kind: 'none' };
}

/**
 * Throws `Release.Halted` or `Release.Aborted` (the workflow parks or cancels) unless free to go on, and
 * `Customer.Superseded` (the rollout ends superseded, deploying nothing) once a newer release took it over.
 */
export async function assertMayProceed(release: string, customer?: HeldCustomer): Promise<ReleaseRecord> {
  const record = await getRelease(release);
  assertNotHeld(release, record, customer);
  return record as ReleaseRecord;
}

/** assertMayProceed on a release's hold already read (getCustomerWithReleaseHold); undefined: not planned. */
export function assertNotHeld(
  release: string,
  record: HeldRelease | undefined,
  customer?: HeldCustomer,
): void {
  if (!record) throw new ReleaseStateError(`No release ${release} has been planned`);
  if (customer?.state === 'superseded')
    throw new CustomerSupersededError(customer.outcomeReason ?? 'superseded by a newer release');
  const hold = holdOf(record, customer);
  if (hold.kind === 'halted') throw new ReleaseHaltedError(hold.reason);
  if (hold.kind === 'aborted') throw new ReleaseAbortedError(hold.reason);
}

/**
 * For an operator's command that would deploy or notify (`refused` says what it would not do): the release,
 * unless it has not started, has ended, or a halt or pause holds it; then a UserFacingError naming what to do.
 */
export async function assertReleaseOpen(release: string, refused: string): Promise<ReleaseRecord> {
  const record = await getRelease(release);
  if (!record)
    throw new UserFacingError(
      `${release} has not been started, so it has no customers to act on yet: start it with \`start-phase --version ${release} --phase demo\``,
    );
  const hold = holdOf(record);
  if (hold.kind === 'aborted')
    throw new UserFacingError(`${release} was aborted (${hold.reason}): ${refused}`);
  if (hold.kind === 'halted')
    throw new UserFacingError(
      `${release} is ${record.status} (${hold.reason}): ${refused} while it is; resume it first with \`resume --version ${release}\``,
    );
  if (record.status === 'planning')
    throw new UserFacingError(`${release} is still being planned: try again in a moment`);
  if (record.status !== 'running')
    throw new UserFacingError(`${release} has ended (${record.status}): ${refused}`);
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

/**
 * Parks the rollout `taskToken` that a halt stopped before it deployed or asked: the customer stays where
 * it is (postponed, never failed) until a resume answers with success (the rollout looks for its next
 * window) or an abort with `Release.Aborted` (it ends cancelled; superseded with `Customer.Superseded` when a
 * newer release took it over). A decision taken while it was being
 * parked answers it at once.
 */
export async function parkHaltedRollout(
  release: string,
  customerId: string,
  taskToken: string,
): Promise<void> {
  const customer = await requireCustomer(release, customerId);
  const hold = holdOf(await requireRelease(release), customer);
  await applyTransition(release, customerId, TRANSITIONS.postpone, {
    at: now(),
    by: 'halt',
    reason: hold.kind === 'none' ? 'halted' : hold.reason,
  });
  await parkRollout(release, { customerId, token: taskToken, since: now() });
  const latestCustomer = await requireCustomer(release, customerId);
  const latest = holdOf(await requireRelease(release), latestCustomer);
  if (latest.kind === 'none' && (await unparkRollout(release, customerId, taskToken)))
    await resumeWithSuccess(taskToken, rolloutResumption(customer));
  if (latest.kind === 'aborted' && (await unparkRollout(release, customerId, taskToken))) {
    const superseded = latestCustomer.state === 'superseded';
    await resumeWithFailure(
      taskToken,
      superseded ? WORKFLOW_ERRORS.superseded : WORKFLOW_ERRORS.aborted,
      latest.reason,
    );
  }
}
