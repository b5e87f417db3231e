import type { z } from 'zod';
import { classifyAwsError, InvalidTaskInputError } from './errors.js';

/**
 * Wraps a Step Functions task: validates its input at the boundary (a bad input is never retried) and
 * gives AWS errors the names the state machine's Retry recognises.
 */
export function taskHandler<Schema extends z.ZodType, Result>(
  schema: Schema,
  work: (input: z.infer<Schema>) => Promise<Result>,
): (event: unknown) => Promise<Result> {
  return async (event: unknown) => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
      );
      throw new InvalidTaskInputError(`Task input rejected: ${problems.join('; ')}`);
    }
    try {
      return await work(parsed.data);
    } catch (error) {
      throw classifyAwsError(error);
    }
  };
}
