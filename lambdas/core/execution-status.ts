// Step Functions reports every change of an execution's status on the account's default bus as a
// "Step Functions Execution Status Change" event; the customer rollouts' end is read from it.

export const STATUS_CHANGE_SOURCE = 'aws.states';
export const STATUS_CHANGE_DETAIL_TYPE = 'Step Functions Execution Status Change';

/**
 * How a customer's rollout execution can end without having recorded the customer's outcome itself. A
 * rollout that ends by its own design records first and then succeeds, so only these need an answer.
 */
export const ENDED_WITHOUT_OUTCOME = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type EndedStatus = (typeof ENDED_WITHOUT_OUTCOME)[number];

export function endedWithoutOutcome(status: string): status is EndedStatus {
  return (ENDED_WITHOUT_OUTCOME as readonly string[]).includes(status);
}
