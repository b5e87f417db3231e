import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { recordRolloutEnded } from '../application/rollouts.js';
import {
  endedWithoutOutcome,
  STATUS_CHANGE_DETAIL_TYPE,
  STATUS_CHANGE_SOURCE,
} from '../core/execution-status.js';
import { stepFunctions } from '../shared/clients.js';
import { classifyAwsError, InvalidTaskInputError } from '../shared/errors.js';
import { addLogKeys, logger, observeInvocation, operationOf } from '../shared/observability.js';

// The event Step Functions sends to the default bus when an execution's status changes. `input` is the
// execution's input as a JSON string; it is null when input and output together exceed 248 KB.
const statusChange = z.looseObject({
  id: z.string(),
  source: z.literal(STATUS_CHANGE_SOURCE),
  'detail-type': z.literal(STATUS_CHANGE_DETAIL_TYPE),
  detail: z.looseObject({
    executionArn: z.string().startsWith('arn:'),
    status: z.string(),
    input: z.string().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

/** What start-customer-rollouts gives every rollout execution (the rest of it is not needed here). */
const rolloutInput = z.looseObject({ release: z.string().min(1), customerId: z.string().min(1) });

/**
 * Target of the rule on the customer state machine's "Execution Status Change" events: a rollout that
 * failed, timed out or was stopped ends its customer `failed` with the cause, and answers the release
 * execution waiting on the customer's step. Other statuses change nothing. Safe to deliver twice.
 */
export function handler(event: unknown, context?: unknown) {
  return observeInvocation({ operation: operationOf(context) }, () => record(event));
}

async function record(event: unknown) {
  const parsed = statusChange.safeParse(event);
  if (!parsed.success)
    throw new InvalidTaskInputError(
      `Rejected a Step Functions status change: ${z.prettifyError(parsed.error)}`,
    );
  const { id, detail } = parsed.data;
  addLogKeys({ execution: detail.executionArn });
  if (!endedWithoutOutcome(detail.status)) {
    logger.debug('Status change ignored: the rollout ended with its outcome', { status: detail.status });
    return { executionArn: detail.executionArn, ignored: detail.status };
  }
  try {
    const input = detail.input ?? (await inputOf(detail.executionArn));
    const rollout = parseRolloutInput(input, `${id} (${detail.executionArn})`);
    addLogKeys({ release: rollout.release, customer: rollout.customerId });
    const recorded = await recordRolloutEnded({
      release: rollout.release,
      customerId: rollout.customerId,
      status: detail.status,
      failure: { Error: detail.error ?? undefined, Cause: detail.cause ?? undefined },
    });
    // The outcome the customer ended in: failed, or the one it already had.
    if (recorded.outcome === 'failed' && recorded.counted)
      logger.warn('Rollout ended without an outcome; the customer failed', { status: detail.status });
    else
      logger.info('Rollout status change dropped: the customer already had its outcome', {
        status: detail.status,
        outcome: recorded.outcome ?? null,
      });
    return { customerId: rollout.customerId, outcome: recorded.outcome ?? null, counted: recorded.counted };
  } catch (error) {
    throw classifyAwsError(error);
  }
}

/** An input left out of the event (too large to include) is read from the execution itself. */
async function inputOf(executionArn: string): Promise<string | undefined> {
  const execution = await stepFunctions().send(new DescribeExecutionCommand({ executionArn }));
  return execution.input;
}

function parseRolloutInput(input: string | undefined, what: string): z.infer<typeof rolloutInput> {
  let json: unknown;
  try {
    json = JSON.parse(input ?? '');
  } catch {
    throw new InvalidTaskInputError(`Rejected status change ${what}: its input is not JSON`);
  }
  const parsed = rolloutInput.safeParse(json);
  if (!parsed.success)
    throw new InvalidTaskInputError(
      `Rejected status change ${what}: not a customer rollout (${z.prettifyError(parsed.error)})`,
    );
  return parsed.data;
}
