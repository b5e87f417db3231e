import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { recordRollbackOutcome } from '../application/rollback-workflow.js';
import {
  endedWithoutOutcome,
  STATUS_CHANGE_DETAIL_TYPE,
  STATUS_CHANGE_SOURCE,
} from '../core/execution-status.js';
import { stepFunctions } from '../shared/clients.js';
import { classifyAwsError, InvalidTaskInputError } from '../shared/errors.js';
import { addLogKeys, logger, observeInvocation, operationOf } from '../shared/observability.js';

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

const rollbackInput = z.looseObject({ release: z.string().min(1), customerId: z.string().min(1) });

/**
 * Target of the rule on the rollback state machine's "Execution Status Change" events: a rollback that
 * failed, timed out or was stopped before recording its end records the customer's rollback failed (the
 * release pauses, the escalation contacts are paged). A rollback that recorded its end changes nothing
 * here. Safe to deliver twice.
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
    logger.debug('Status change ignored: the rollback ended by its own design', { status: detail.status });
    return { executionArn: detail.executionArn, ignored: detail.status };
  }
  try {
    const input = detail.input ?? (await inputOf(detail.executionArn));
    const rollback = parseRollbackInput(input, `${id} (${detail.executionArn})`);
    addLogKeys({ release: rollback.release, customer: rollback.customerId });
    const why = [detail.error, detail.cause].filter(Boolean).join(': ');
    const recorded = await recordRollbackOutcome(
      rollback.release,
      rollback.customerId,
      'rollback-failed',
      `its rollback execution ${detail.status.toLowerCase()}${why ? `: ${why}` : ''}`,
    );
    if (recorded.counted)
      logger.warn('Rollback ended without recording its end; recorded failed', { status: detail.status });
    return { customerId: rollback.customerId, state: recorded.state, counted: recorded.counted };
  } catch (error) {
    throw classifyAwsError(error);
  }
}

async function inputOf(executionArn: string): Promise<string | undefined> {
  const execution = await stepFunctions().send(new DescribeExecutionCommand({ executionArn }));
  return execution.input;
}

function parseRollbackInput(input: string | undefined, what: string): z.infer<typeof rollbackInput> {
  let json: unknown;
  try {
    json = JSON.parse(input ?? '');
  } catch {
    throw new InvalidTaskInputError(`Rejected status change ${what}: its input is not JSON`);
  }
  const parsed = rollbackInput.safeParse(json);
  if (!parsed.success)
    throw new InvalidTaskInputError(
      `Rejected status change ${what}: not a customer rollback (${z.prettifyError(parsed.error)})`,
    );
  return parsed.data;
}
