import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { IN_FLIGHT_RECHECK_HOURS } from '../lambdas/core/overlap.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS } from '../lambdas/core/timeouts.js';
import { WORKFLOW_ERRORS } from '../lambdas/shared/errors.js';
import { invoke, invokeAndWait, type WorkflowFunctions } from './tasks.js';

/** How long the platform has to report a requested deployment before it counts as failed (the planner's too). */
export const DEPLOYMENT_REPORT_TIMEOUT = Duration.hours(DEPLOYMENT_REPORT_TIMEOUT_HOURS);
/** The longest an approval can wait: the latest policy deadline (enterprise, day 60) from the release start. */
export const APPROVAL_TIMEOUT = Duration.days(62);
/** The error a rollout execution fails with when it cannot record its customer's outcome. */
export const RECORDING_FAILED = 'Rollout.RecordingFailed';

/**
 * One customer's rollout, run as its own execution (named after the customer) so the release execution
 * never iterates customers: approval when the policy asks for it, the maintenance window, the deployment
 * request, the platform's report, and the outcome counted on the customer's step. A halt parks it before
 * it asks or deploys ("… postponed · halted, awaiting decision"); an abort ends it cancelled; a newer
 * release taking the customer over ends it superseded; another release's deployment of the customer in
 * flight makes it wait and look for a later window.
 */
export function customerRolloutDefinition(scope: Construct, fns: WorkflowFunctions): sfn.IChainable {
  const customer = { 'release.$': '$.release', 'customerId.$': '$.customerId' };
  // A recording task that fails beyond its retries (transient errors, tasks.ts) ends the execution here,
  // FAILED with the recording's error as its cause: the rule on this state machine's "Execution Status
  // Change" events then records the customer `failed` with that cause and answers the release execution
  // (record-rollout-ended). Catching into another recording would only fail the same way. Should the
  // caught error carry no cause, the Fail state's own runtime error fails the execution all the same.
  const recordingFailed = new sfn.Fail(scope, 'Recording failed', {
    error: RECORDING_FAILED,
    causePath: '$.recordingError.Cause',
  });
  const record = (name: string, outcome: string, extra: Record<string, unknown>) =>
    invoke(scope, name, fns.recordOutcome, { ...customer, outcome, ...extra })
      .addCatch(recordingFailed, { errors: ['States.ALL'], resultPath: '$.recordingError' })
      .next(new sfn.Succeed(scope, `${name} · done`));

  const recordDeployed = record('Record deployed', 'deployed', {});
  const recordFailed = record('Record failed', 'failed', { 'error.$': '$.error' });
  const recordRejected = record('Record rejected', 'rejected', { 'error.$': '$.error' });
  const recordDeferred = record('Record deferred (no decision before the deadline)', 'deferred', {
    reason: 'no approval decision before the policy deadline',
  });
  const recordUnschedulable = record('Record held (unschedulable)', 'held', {
    reason: 'no maintenance window before the policy deadline',
  });
  const recordNoWindowLeft = record('Record held (no window left)', 'held', { 'reason.$': '$.slot.reason' });
  const recordNoticeHeld = record('Record held (notice lead time)', 'held', { 'error.$': '$.error' });
  const recordHaltedTooLong = record('Record held (halted past its deadline)', 'held', {
    reason: 'halted until after its policy deadline',
  });
  const recordCancelled = record('Record cancelled (release aborted)', 'cancelled', { 'error.$': '$.error' });
  const recordSuperseded = record('Record superseded (a newer release took over)', 'superseded', {
    'error.$': '$.error',
  });

  /** Parks the rollout while a halt holds it; a resume carries on with `then`. */
  const parkedByHalt = (name: string, resultPath: string) =>
    invokeAndWait(scope, name, fns.parkRollout, customer, {
      resultPath,
      timeout: sfn.Timeout.duration(APPROVAL_TIMEOUT),
      comment:
        'Postponed, never failed: a resume answers (next window), an abort fails it with Release.Aborted.',
    })
      .addCatch(recordCancelled, { errors: [WORKFLOW_ERRORS.aborted], resultPath: '$.error' })
      .addCatch(recordSuperseded, { errors: [WORKFLOW_ERRORS.superseded], resultPath: '$.error' })
      .addCatch(recordHaltedTooLong, { errors: ['States.Timeout'], resultPath: '$.error' })
      .addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  const deploymentPostponed = parkedByHalt(
    'Deployment postponed · halted, awaiting decision',
    sfn.JsonPath.DISCARD,
  );
  const approvalPostponed = parkedByHalt('Approval postponed · halted, awaiting decision', '$.resumed');

  // Another release's deployment of the customer is in flight: wait, then find a later window.
  const inFlightElsewhere = new sfn.Wait(scope, 'Deployment in flight in another release · wait', {
    time: sfn.WaitTime.duration(Duration.hours(IN_FLIGHT_RECHECK_HOURS)),
  });
  const deploy = invokeAndWait(scope, 'Deploy and await report', fns.requestDeployment, customer, {
    resultPath: '$.deployment',
    timeout: sfn.Timeout.duration(DEPLOYMENT_REPORT_TIMEOUT),
    comment: 'Publishes Deployment Requested; the platform answers with Deployment Succeeded or Failed.',
  })
    .addCatch(deploymentPostponed, { errors: [WORKFLOW_ERRORS.halted], resultPath: sfn.JsonPath.DISCARD })
    .addCatch(inFlightElsewhere, {
      errors: [WORKFLOW_ERRORS.deploymentInFlight],
      resultPath: sfn.JsonPath.DISCARD,
    })
    .addCatch(recordCancelled, { errors: [WORKFLOW_ERRORS.aborted], resultPath: '$.error' })
    .addCatch(recordSuperseded, { errors: [WORKFLOW_ERRORS.superseded], resultPath: '$.error' })
    .addCatch(recordNoticeHeld, { errors: [WORKFLOW_ERRORS.noticeLeadTime], resultPath: '$.error' })
    .addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' })
    .next(recordDeployed);

  const waitForWindow = new sfn.Wait(scope, 'Wait for maintenance window', {
    time: sfn.WaitTime.timestampPath('$.slot.deployAt'),
  }).next(deploy);

  const findWindow = invoke(scope, 'Find maintenance window', fns.scheduleDeployment, customer, {
    resultPath: '$.slot',
    comment: 'The planned window, or the next one when the approval or a halt came after it opened.',
  })
    .addCatch(deploymentPostponed, { errors: [WORKFLOW_ERRORS.halted], resultPath: sfn.JsonPath.DISCARD })
    .addCatch(recordCancelled, { errors: [WORKFLOW_ERRORS.aborted], resultPath: '$.error' })
    .addCatch(recordSuperseded, { errors: [WORKFLOW_ERRORS.superseded], resultPath: '$.error' })
    .addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  inFlightElsewhere.next(findWindow);
  findWindow.next(
    new sfn.Choice(scope, 'Window found?')
      .when(sfn.Condition.isNull('$.slot.deployAt'), recordNoWindowLeft)
      .otherwise(waitForWindow),
  );
  deploymentPostponed.next(findWindow);

  const askApprovers = invokeAndWait(scope, 'Ask approvers', fns.requestApproval, customer, {
    resultPath: '$.approval',
    // Until the policy deadline (computed when the rollout starts); never longer than APPROVAL_TIMEOUT.
    timeout: sfn.Timeout.at('$.approvalTimeoutSeconds'),
    comment: 'Emails signed review links; an approver’s POST resumes this task. Never auto-approved.',
  })
    .addCatch(approvalPostponed, { errors: [WORKFLOW_ERRORS.halted], resultPath: sfn.JsonPath.DISCARD })
    .addCatch(recordCancelled, { errors: [WORKFLOW_ERRORS.aborted], resultPath: '$.error' })
    .addCatch(recordSuperseded, { errors: [WORKFLOW_ERRORS.superseded], resultPath: '$.error' })
    .addCatch(recordRejected, { errors: [WORKFLOW_ERRORS.approvalRejected], resultPath: '$.error' })
    .addCatch(recordDeferred, { errors: ['States.Timeout'], resultPath: '$.error' })
    .addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  askApprovers.next(findWindow);
  // The approval still waits until the policy deadline, not a full wait again from the resume.
  approvalPostponed.next(
    new sfn.Pass(scope, 'Approval resumed · wait until the deadline', {
      inputPath: '$.resumed.approvalTimeoutSeconds',
      resultPath: '$.approvalTimeoutSeconds',
    }).next(askApprovers),
  );

  return new sfn.Choice(scope, 'Schedulable?')
    .when(sfn.Condition.booleanEquals('$.deployable', false), recordUnschedulable)
    .when(sfn.Condition.booleanEquals('$.approvalRequired', true), askApprovers)
    .otherwise(findWindow);
}
