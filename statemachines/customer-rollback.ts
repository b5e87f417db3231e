import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ROLLBACK_REPORT_TIMEOUT_HOURS } from '../lambdas/core/rollback.js';
import { WORKFLOW_ERRORS } from '../lambdas/shared/errors.js';
import { invoke, invokeAndWait, type WorkflowFunctions } from './tasks.js';

/** How long the platform has to answer a `Rollback Requested` before the rollback counts as failed. */
export const ROLLBACK_REPORT_TIMEOUT = Duration.hours(ROLLBACK_REPORT_TIMEOUT_HOURS);
/** The error a rollback execution ends with when the platform could not roll its customer back. */
export const ROLLBACK_FAILED = 'Rollback.Failed';
/** The error a rollback execution fails with when it cannot record its customer's rollback. */
export const ROLLBACK_RECORDING_FAILED = 'Rollback.RecordingFailed';

/**
 * One customer's rollback, run as its own execution (`rollback-<customerId>-<requested at>`), by its policy's process:
 * - immediate-with-approval (enterprise): tell the customer, ask its stakeholders (a rollback request on
 *   the same signed links), wait for its next maintenance window, roll back, validate health, report;
 * - automatic-with-monitoring (standard): roll back now, tell the customer, monitor health, follow up;
 * - automatic-immediate (startup, demo): roll back now, tell the customer; it awaits a fixed version.
 * A failed rollback (the platform's answer, or none in time) pauses the release and pages the escalation
 * contacts; a rejected or unanswered approval keeps the customer deployed and tells the release manager.
 */
export function customerRollbackDefinition(scope: Construct, fns: WorkflowFunctions): sfn.IChainable {
  const customer = { 'release.$': '$.release', 'customerId.$': '$.customerId' };
  // As in the customer rollout: a recording that fails beyond its retries fails the execution, and the
  // rule on this state machine's status changes records the rollback failed (record-rollback-ended).
  const recordingFailed = new sfn.Fail(scope, 'Recording failed', {
    error: ROLLBACK_RECORDING_FAILED,
    causePath: '$.recordingError.Cause',
  });
  const record = (name: string, outcome: string, extra: Record<string, unknown>) =>
    invoke(scope, name, fns.recordRollbackOutcome, { ...customer, outcome, ...extra }).addCatch(
      recordingFailed,
      { errors: ['States.ALL'], resultPath: '$.recordingError' },
    );
  const tell = (name: string, notice: string) =>
    invoke(scope, name, fns.notifyRollback, { ...customer, notice }, { resultPath: sfn.JsonPath.DISCARD });
  const checkHealth = (name: string) =>
    invoke(scope, name, fns.checkRollbackHealth, customer, { resultPath: '$.health' });

  const recordFailed = record('Record rollback failed', 'rollback-failed', { 'error.$': '$.error' }).next(
    new sfn.Fail(scope, 'Rollback failed · release paused', {
      error: ROLLBACK_FAILED,
      causePath: '$.error.Cause',
    }),
  );
  const recordNoAnswer = record('Record rollback failed (no answer in time)', 'rollback-failed', {
    reason: `the platform did not answer within ${ROLLBACK_REPORT_TIMEOUT_HOURS} hours`,
  }).next(
    new sfn.Fail(scope, 'Rollback failed (no answer) · release paused', {
      error: ROLLBACK_FAILED,
      cause: 'the platform did not answer the rollback request in time',
    }),
  );
  const keptDeployed = new sfn.Succeed(scope, 'Not rolled back · stays deployed');
  const recordRejected = record('Record kept deployed (rollback rejected)', 'kept-deployed', {
    'error.$': '$.error',
  }).next(keptDeployed);
  const recordUnanswered = record('Record kept deployed (no decision in time)', 'kept-deployed', {
    reason: 'the stakeholders did not approve the rollback in time',
  }).next(keptDeployed);

  /** The platform rolls the customer back; its answer (or none in time) decides what comes next. */
  const rollBack = (name: string) =>
    invokeAndWait(scope, name, fns.requestPlatformRollback, customer, {
      resultPath: '$.report',
      timeout: sfn.Timeout.duration(ROLLBACK_REPORT_TIMEOUT),
      comment: 'Publishes Rollback Requested; the platform answers with Rollback Succeeded or Failed.',
    })
      .addCatch(recordNoAnswer, { errors: ['States.Timeout'], resultPath: '$.error' })
      .addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' });

  // Standard and startup (and demo): at once.
  const rolledBackNow = record('Record rolled back', 'rolled-back', {
    reason: 'the platform rolled it back',
  });
  const automatic = rollBack('Roll back now · await platform report').next(rolledBackNow);
  rolledBackNow.next(tell('Tell customer · rolled back', 'rolled-back')).next(
    new sfn.Choice(scope, 'Monitor health?')
      .when(
        sfn.Condition.stringEquals('$.rollback.process', 'automatic-with-monitoring'),
        new sfn.Wait(scope, 'Monitor health', {
          time: sfn.WaitTime.secondsPath('$.rollback.monitoringSeconds'),
          comment: 'The policy’s monitoring period (rollback.monitoringHours).',
        })
          .next(checkHealth('Check health after monitoring'))
          .next(tell('Send follow-up', 'follow-up'))
          .next(new sfn.Succeed(scope, 'Rolled back · monitored, followed up')),
      )
      .otherwise(new sfn.Succeed(scope, 'Rolled back · awaiting a fixed version')),
  );

  // Enterprise: the stakeholders decide, the customer's next window runs it, health validates it.
  const approved = tell('Tell customer · rollback proposed', 'proposed')
    .next(
      invokeAndWait(
        scope,
        'Ask stakeholders to approve the rollback',
        fns.requestApproval,
        {
          ...customer,
          purpose: 'rollback',
          'approvalSeconds.$': '$.rollback.approvalSeconds',
        },
        {
          resultPath: '$.approval',
          timeout: sfn.Timeout.at('$.rollback.approvalSeconds'),
          comment:
            'Emails signed review links for a ROLLBACK; an approver’s POST resumes this task. Never auto-approved.',
        },
      )
        .addCatch(recordRejected, { errors: [WORKFLOW_ERRORS.approvalRejected], resultPath: '$.error' })
        .addCatch(recordUnanswered, { errors: ['States.Timeout'], resultPath: '$.error' })
        .addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' }),
    )
    .next(
      invoke(scope, 'Find next maintenance window', fns.scheduleRollback, customer, {
        resultPath: '$.window',
      }).addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' }),
    )
    .next(
      new sfn.Wait(scope, 'Wait for maintenance window', {
        time: sfn.WaitTime.timestampPath('$.window.rollbackAt'),
      }),
    )
    .next(rollBack('Roll back in window · await platform report'))
    .next(record('Record rolled back (in window)', 'rolled-back', { reason: 'the platform rolled it back' }))
    .next(
      new sfn.Wait(scope, 'Wait before validation', {
        time: sfn.WaitTime.secondsPath('$.rollback.validationSeconds'),
        comment:
          'The policy’s validation period (rollback.validationHours): health reports come in meanwhile.',
      }),
    )
    .next(checkHealth('Validate health after rollback'))
    .next(tell('Send incident report', 'incident-report'))
    .next(new sfn.Succeed(scope, 'Rolled back · validated, incident reported'));

  return invoke(
    scope,
    'Begin rollback',
    fns.beginRollback,
    {
      ...customer,
      'trigger.$': '$.trigger',
      'reason.$': '$.reason',
    },
    { resultPath: '$.rollback', comment: 'The customer is being rolled back; its policy says how.' },
  )
    .addCatch(new sfn.Succeed(scope, 'Nothing to roll back (not deployed)'), {
      errors: [WORKFLOW_ERRORS.nothingToRollBack],
      resultPath: '$.error',
    })
    .addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' })
    .next(
      new sfn.Choice(scope, 'Rollback process?')
        .when(sfn.Condition.stringEquals('$.rollback.process', 'immediate-with-approval'), approved)
        .otherwise(automatic),
    );
}
