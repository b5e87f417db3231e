import type * as z from 'zod';
import { classifyAwsError, InvalidTaskInputError } from './errors.js';
import { logger, logKeysOf, observeInvocation, operationOf } from './observability.js';

/**
 * Wraps a Step Functions task: validates its input at the boundary (a bad input is never retried) and
 * gives AWS errors the names the state machine's Retry recognises. Every log line of the task names its
 * release, step, customer and execution (the `execution` the workflow adds to every task's input), and
 * the metrics it counted are published when it ends.
 */
export function taskHandler<Schema extends z.ZodType, Result>(
  schema: Schema,
  work: (input: z.infer<Schema>) => Promise<Result>,
): (event: unknown, context?: unknown) => Promise<Result> {
  return (event: unknown, context?: unknown) => {
    const { execution, input } = withoutExecution(event);
    return observeInvocation(
      { ...logKeysOf(input), execution, operation: operationOf(context) },
      async () => {
        const parsed = schema.safeParse(input);
        if (!parsed.success) {
          const problems = parsed.error.issues.map(
            (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
          );
          throw new InvalidTaskInputError(`Task input rejected: ${problems.join('; ')}`);
        }
        try {
          const result = await work(parsed.data);
          logger.debug('Task completed');
          return result;
        } catch (error) {
          throw classifyAwsError(error);
        }
      },
    );
  };
}

/** The workflow adds its execution's id to every task's input, for the logs; the task itself never reads it. */
function withoutExecution(event: unknown): { execution?: string; input: unknown } {
  if (typeof event !== 'object' || event === null || Array.isArray(event) || !('execution' in event))
    return { input: event };
  const { execution, ...input } = event as Record<string, unknown>;
  return { execution: typeof execution === 'string' ? execution : undefined, input };
}
