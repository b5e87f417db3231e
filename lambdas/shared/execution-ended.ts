import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import {
  type EndedStatus,
  endedWithoutOutcome,
  STATUS_CHANGE_DETAIL_TYPE,
  STATUS_CHANGE_SOURCE,
} from '../core/execution-status.js';
import { stepFunctions } from './clients.js';
import { classifyAwsError, InvalidTaskInputError } from './errors.js';
import { addLogKeys, logger, observeInvocation, operationOf } from './observability.js';

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

/** What every customer execution (rollout or rollback) is started with; the rest of it is not needed here. */
const customerExecutionInput = z.looseObject({ release: z.string().min(1), customerId: z.string().min(1) });

export interface EndedExecution {
  release: string;
  customerId: string;
  status: EndedStatus;
  error?: string;
  cause?: string;
}

/**
 * A Lambda handler for a rule on a customer state machine's "Execution Status Change" events: an execution
 * that failed, timed out or was stopped (it recorded no end of its own) is handed to `onEnded` with its
 * customer; every other status changes nothing. `what` names the executions in errors and logs.
 */
export function executionEndedHandler<Result>(
  what: string,
  onEnded: (ended: EndedExecution) => Promise<Result>,
) {
  return (event: unknown, context?: unknown) =>
    observeInvocation({ operation: operationOf(context) }, async () => {
      const parsed = statusChange.safeParse(event);
      if (!parsed.success)
        throw new InvalidTaskInputError(
          `Rejected a Step Functions status change: ${z.prettifyError(parsed.error)}`,
        );
      const { id, detail } = parsed.data;
      addLogKeys({ execution: detail.executionArn });
      if (!endedWithoutOutcome(detail.status)) {
        logger.debug(`Status change ignored: the ${what} ended by its own design`, { status: detail.status });
        return { executionArn: detail.executionArn, ignored: detail.status };
      }
      try {
        const input = detail.input ?? (await inputOf(detail.executionArn));
        const execution = parseInput(input, `${id} (${detail.executionArn})`, what);
        addLogKeys({ release: execution.release, customer: execution.customerId });
        return await onEnded({
          release: execution.release,
          customerId: execution.customerId,
          status: detail.status,
          error: detail.error ?? undefined,
          cause: detail.cause ?? undefined,
        });
      } catch (error) {
        throw classifyAwsError(error);
      }
    });
}

/** An input left out of the event (too large to include) is read from the execution itself. */
async function inputOf(executionArn: string): Promise<string | undefined> {
  const execution = await stepFunctions().send(new DescribeExecutionCommand({ executionArn }));
  return execution.input;
}

function parseInput(input: string | undefined, event: string, what: string) {
  let json: unknown;
  try {
    json = JSON.parse(input ?? '');
  } catch {
    throw new InvalidTaskInputError(`Rejected status change ${event}: its input is not JSON`);
  }
  const parsed = customerExecutionInput.safeParse(json);
  if (!parsed.success)
    throw new InvalidTaskInputError(
      `Rejected status change ${event}: not a customer ${what} (${z.prettifyError(parsed.error)})`,
    );
  return parsed.data;
}
