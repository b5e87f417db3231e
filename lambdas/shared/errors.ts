// Error names are what the state machines' Retry and Catch match on (Lambda reports `error.name`).

/** The task's input is malformed: retrying cannot help. */
export class InvalidTaskInputError extends Error {
  override name = 'InvalidTaskInput';
}

/** A dependency was briefly unavailable (throttling, timeouts): the state machine retries these. */
export class TransientError extends Error {
  override name = 'Transient';
}

/** The deployment automation reported that a customer's deployment failed. */
export class DeploymentFailedError extends Error {
  override name = 'Deployment.Failed';
}

/** An approver rejected the deployment for their customer. */
export class ApprovalRejectedError extends Error {
  override name = 'Approval.Rejected';
}

/** A customer would be deployed before its advance notice's lead time has passed: it is held instead. */
export class NoticeLeadTimeError extends Error {
  override name = 'Notice.LeadTime';
}

/** Something the release cannot go on without is missing or inconsistent (e.g. no plan recorded). */
export class ReleaseStateError extends Error {
  override name = 'ReleaseState';
}

const TRANSIENT_AWS_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TooManyRequestsException',
  'RequestThrottled',
  'LimitExceededException',
  'TimeoutError',
]);

/** Wraps an AWS SDK error so that only the ones worth retrying carry the retryable name. */
export function classifyAwsError(error: unknown): Error {
  if (error instanceof Error && TRANSIENT_AWS_ERRORS.has(error.name)) {
    return new TransientError(`${error.name}: ${error.message}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** What a task throws when a halt holds the release or the customer: the workflow parks, awaiting a decision. */
export class ReleaseHaltedError extends Error {
  override name = 'Release.Halted';
}

/** The release was aborted: the customer's rollout ends `cancelled`, the release in "Release aborted". */
export class ReleaseAbortedError extends Error {
  override name = 'Release.Aborted';
}

/** A newer release took the customer over (or it already runs this version or newer): its rollout ends `superseded`. */
export class CustomerSupersededError extends Error {
  override name = 'Customer.Superseded';
}

/** Another release's deployment of the customer is in flight: this rollout waits, then looks for a later window. */
export class DeploymentInFlightError extends Error {
  override name = 'Deployment.InFlight';
}

/** A pause reached the end of the execution's time limit without a decision: the release is aborted. */
export class PauseTimeLimitError extends Error {
  override name = 'Release.TimeLimit';
}

/** The platform reported that a customer's rollback failed. */
export class RollbackFailedError extends Error {
  override name = 'Rollback.Failed';
}

/** A rollback was started for a customer that is not deployed (nor being rolled back): nothing to do. */
export class NothingToRollBackError extends Error {
  override name = 'Rollback.NotDeployed';
}

/** The error names the workflow definitions match in Catch, from the classes that throw them. */
export const WORKFLOW_ERRORS = {
  halted: new ReleaseHaltedError().name,
  aborted: new ReleaseAbortedError().name,
  timeLimit: new PauseTimeLimitError().name,
  approvalRejected: new ApprovalRejectedError().name,
  deploymentFailed: new DeploymentFailedError().name,
  noticeLeadTime: new NoticeLeadTimeError().name,
  rollbackFailed: new RollbackFailedError().name,
  nothingToRollBack: new NothingToRollBackError().name,
  superseded: new CustomerSupersededError().name,
  deploymentInFlight: new DeploymentInFlightError().name,
} as const;
