import { DateTime } from 'luxon';
import type { CustomerState } from './lifecycle.js';
import { versionSlug } from './versions.js';

// Deploying a customer outside its step's schedule (deploy-customers, update-customer): the same notice,
// approval and window rules as on schedule, only starting now; or, forced, at once with who and why.

/** A release's customer rollout state machine is named like its release state machine, with this suffix. */
export const CUSTOMER_ROLLOUT_STATE_MACHINE_SUFFIX = '-customer';

/** `<releaseStateMachineArnPrefix><versionSlug>-customer`: where a customer's rollout execution runs. */
export function customerRolloutStateMachineArn(
  releaseStateMachineArnPrefix: string,
  release: string,
): string {
  return `${releaseStateMachineArnPrefix}${versionSlug(release)}${CUSTOMER_ROLLOUT_STATE_MACHINE_SUFFIX}`;
}

/** What an early deployment request finds a customer of the release doing. */
export type EarlyStanding =
  /** Its rollout has not started: it can be deployed early. */
  | 'ready'
  | 'already-deployed'
  /** The platform was asked to deploy it and has not answered yet. */
  | 'in-flight'
  /** Its rollout runs (asking approval, waiting for its window, postponed by a halt). */
  | 'already-started'
  /** Its rollout ended otherwise (failed, held, rejected, …), or it was rolled back or superseded. */
  | 'ended';

export function earlyStandingOf(state: CustomerState): EarlyStanding {
  switch (state) {
    case 'planned':
    case 'noticed':
      return 'ready';
    case 'deployed':
      return 'already-deployed';
    case 'deployment-requested':
      return 'in-flight';
    case 'awaiting-approval':
    case 'approved':
    case 'scheduled':
    case 'postponed':
      return 'already-started';
    default:
      return 'ended';
  }
}

/**
 * The earliest instant an early deployment may happen: now, but never before the advance notice's lead time
 * has passed since the notice (sent already, or sent now when it is still to go). A policy without a notice
 * (`noticeRequired` false) deploys from now.
 */
export function earliestEarlyDeployment(customer: {
  now: string;
  noticeRequired: boolean;
  noticeSentAt?: string;
  advanceNoticeDays: number;
}): DateTime {
  const now = DateTime.fromISO(customer.now, { zone: 'utc' });
  if (!customer.noticeRequired) return now;
  const noticed = customer.noticeSentAt ? DateTime.fromISO(customer.noticeSentAt, { zone: 'utc' }) : now;
  return DateTime.max(now, noticed.plus({ days: customer.advanceNoticeDays }));
}
