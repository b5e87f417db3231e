// The customer lifecycle during a release: every state a customer can be in, and the transitions between
// them, as named, plain data. The store applies a transition only from one of its `from` states (a
// conditional write), so a retry, a duplicate event or a race cannot apply it twice.

export const CUSTOMER_STATES = [
  'planned',
  'noticed',
  'awaiting-approval',
  'approved',
  'scheduled',
  'postponed',
  'deployment-requested',
  'deployed',
  'failed',
  'rejected',
  'deferred',
  'held',
  'cancelled',
  // The rollback issue moves deployed customers on through these.
  'rolling-back',
  'rolled-back',
  /** The platform could not roll it back (or did not answer in time): the release pauses for a decision. */
  'rollback-failed',
  'superseded',
] as const;

export type CustomerState = (typeof CUSTOMER_STATES)[number];

/**
 * The states a customer's rollout ends in: each is counted once on the customer's step. `superseded`: a
 * newer release took the customer over before this one asked to deploy it (lambdas/core/overlap.ts); it is
 * neither a success nor a failure of this release, and its gates judge the step without it.
 */
export const OUTCOME_STATES = [
  'deployed',
  'failed',
  'rejected',
  'deferred',
  'held',
  'cancelled',
  'superseded',
] as const;
export type OutcomeState = (typeof OUTCOME_STATES)[number];

export function isOutcome(state: CustomerState): state is OutcomeState {
  return (OUTCOME_STATES as readonly string[]).includes(state);
}

/** Before anything is asked of the platform: the states a halt can still postpone or an abort cancel. */
const NOT_YET_REQUESTED = [
  'planned',
  'noticed',
  'awaiting-approval',
  'approved',
  'scheduled',
  'postponed',
] as const satisfies readonly CustomerState[];

/** Nothing asked of the platform yet: a halt can still postpone the customer, an abort cancel it. */
export function isNotYetRequested(state: CustomerState): boolean {
  return (NOT_YET_REQUESTED as readonly string[]).includes(state);
}

/** Once a rollback was requested: a further request for the customer is the same rollback, not another. */
const ROLLBACK_REQUESTED = [
  'rolling-back',
  'rolled-back',
  'rollback-failed',
] as const satisfies readonly CustomerState[];

export function isRollbackRequested(state: CustomerState): boolean {
  return (ROLLBACK_REQUESTED as readonly string[]).includes(state);
}

export interface Transition {
  readonly name: string;
  readonly from: readonly CustomerState[];
  readonly to: CustomerState;
}

const transition = <Name extends string>(
  name: Name,
  from: readonly CustomerState[],
  to: CustomerState,
): Transition & { name: Name } => ({ name, from, to });

/** Every allowed move, by name. A move not listed here cannot happen. */
export const TRANSITIONS = {
  /** The advance notice went out. */
  notice: transition('notice', ['planned'], 'noticed'),
  /** The approvers were asked (emailed signed links). */
  askApproval: transition('askApproval', ['planned', 'noticed', 'postponed'], 'awaiting-approval'),
  approve: transition('approve', ['awaiting-approval'], 'approved'),
  reject: transition('reject', ['awaiting-approval'], 'rejected'),
  /** No decision before the policy deadline: never approved by default. */
  defer: transition('defer', ['awaiting-approval'], 'deferred'),
  /** A deployment instant was found inside the customer's window (again, after a halt or a late approval). */
  schedule: transition('schedule', ['planned', 'noticed', 'approved', 'postponed', 'scheduled'], 'scheduled'),
  /** A halt holds the customer where it is until a decision. */
  postpone: transition('postpone', NOT_YET_REQUESTED, 'postponed'),
  requestDeployment: transition('requestDeployment', ['scheduled'], 'deployment-requested'),
  /** Publishing the request failed: back to scheduled, so the retry publishes it. */
  withdrawRequest: transition('withdrawRequest', ['deployment-requested'], 'scheduled'),
  recordDeployed: transition('recordDeployed', ['deployment-requested'], 'deployed'),
  recordFailed: transition('recordFailed', [...NOT_YET_REQUESTED, 'deployment-requested'], 'failed'),
  /** No maintenance window before the policy deadline, or the notice lead time cannot be kept. */
  hold: transition('hold', NOT_YET_REQUESTED, 'held'),
  /** The release was aborted before this customer's deployment was requested. */
  cancel: transition('cancel', NOT_YET_REQUESTED, 'cancelled'),
  /**
   * A newer release took the customer over before this one asked to deploy it, or the customer already runs
   * this version or a newer one: it follows the newer release, this one leaves it alone.
   */
  supersede: transition('supersede', NOT_YET_REQUESTED, 'superseded'),
  /** A rollback trigger (or a person) asked for it, inside the policy's rollback window. */
  requestRollback: transition('requestRollback', ['deployed'], 'rolling-back'),
  /** The platform reported the customer back on its previous version. */
  recordRolledBack: transition('recordRolledBack', ['rolling-back'], 'rolled-back'),
  /** The platform reported the rollback failed, or did not answer in time. */
  recordRollbackFailed: transition('recordRollbackFailed', ['rolling-back'], 'rollback-failed'),
  /** The stakeholders rejected the rollback, or did not answer in time: the customer stays deployed. */
  keepDeployed: transition('keepDeployed', ['rolling-back'], 'deployed'),
} as const;

export type TransitionName = keyof typeof TRANSITIONS;

/** The transition that ends a rollout in `outcome`. */
export function transitionTo(outcome: OutcomeState): Transition {
  switch (outcome) {
    case 'deployed':
      return TRANSITIONS.recordDeployed;
    case 'failed':
      return TRANSITIONS.recordFailed;
    case 'rejected':
      return TRANSITIONS.reject;
    case 'deferred':
      return TRANSITIONS.defer;
    case 'held':
      return TRANSITIONS.hold;
    case 'cancelled':
      return TRANSITIONS.cancel;
    case 'superseded':
      return TRANSITIONS.supersede;
  }
}

/** One line of a customer's history: what it became, when, who or what caused it, and why. */
export interface HistoryEntry {
  state: CustomerState;
  at: string;
  by: string;
  reason?: string;
}

export function canApply(transition: Transition, current: CustomerState): boolean {
  return transition.from.includes(current);
}

/** The first entry of every customer's history. */
export function plannedEntry(at: string): HistoryEntry {
  return { state: 'planned', at, by: 'plan-release', reason: 'planned with the release' };
}
