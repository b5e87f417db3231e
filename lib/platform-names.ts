import type { WorkflowFunctions } from '../statemachines/tasks.js';

/**
 * The names by which release stacks find what the platform stack deploys. They are fixed names, not
 * CloudFormation exports, so the platform stack deploys alone, in any order, without an export to hold on to.
 */
export const FUNCTION_NAME_PREFIX = 'securewatch-';

/** The function built from `lambdas/handlers/<handler>.ts` is named `securewatch-<handler>`. */
export const functionNameOf = (handler: string): string => `${FUNCTION_NAME_PREFIX}${handler}`;

/** The handler each workflow task invokes, by the role it plays in the workflows. */
export const WORKFLOW_HANDLERS: Record<keyof WorkflowFunctions, string> = {
  planRelease: 'plan-release',
  writePlanChunk: 'write-plan-chunk',
  openRelease: 'open-release',
  sendNotices: 'send-notices',
  startCustomerRollouts: 'start-customer-rollouts',
  awaitStep: 'await-step',
  evaluateGate: 'evaluate-gate',
  recordFailure: 'record-failure',
  completeRelease: 'complete-release',
  requestApproval: 'request-approval',
  scheduleDeployment: 'schedule-deployment',
  requestDeployment: 'request-deployment',
  recordOutcome: 'record-outcome',
  parkRollout: 'park-rollout',
  awaitDecision: 'await-decision',
  remindPaused: 'remind-paused',
  abortRelease: 'abort-release',
  beginRollback: 'begin-rollback',
  notifyRollback: 'notify-rollback',
  scheduleRollback: 'schedule-rollback',
  requestPlatformRollback: 'request-platform-rollback',
  recordRollbackOutcome: 'record-rollback-outcome',
  checkRollbackHealth: 'check-rollback-health',
};

/** Target of each release stack's rule on its customer rollouts' "Execution Status Change" events. */
export const RECORD_ROLLOUT_ENDED_HANDLER = 'record-rollout-ended';

/** Target of each release stack's rule on its customer rollbacks' "Execution Status Change" events. */
export const RECORD_ROLLBACK_ENDED_HANDLER = 'record-rollback-ended';

/** The SNS topic every alarm of the platform and of the release stacks notifies. */
export const ALARM_TOPIC_NAME = 'securewatch-release-alarms';

/** Release stacks name their rules with this prefix; the platform lets rules so named invoke its functions. */
export const RELEASE_RULE_PREFIX = 'securewatch-release-';

/** The dead-letter queue of every EventBridge target, the release stacks' rules included. */
export const EVENT_DEAD_LETTERS_QUEUE = 'securewatch-release-event-dead-letters';

/** Where the functions EventBridge invokes put the events they failed on, after Lambda's retries. */
export const FAILED_INVOCATIONS_QUEUE = 'securewatch-release-failed-invocations';

/** The secret holding the approval signing keys; `npm run rotate-signing-key` rotates it by this name. */
export const APPROVAL_SIGNING_SECRET_NAME = 'securewatch/approval-signing-keys';

/** The SSM parameter holding the release manager commands' environment (table, bus, queue, API…), as JSON. */
export const COMMAND_ENVIRONMENT_PARAMETER = '/securewatch/release-orchestrator/CommandEnvironment';
