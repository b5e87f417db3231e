import { UserFacingError } from '../lambdas/core/errors.js';
import type { CliIo } from './context.js';
import type { Target, TargetOptions } from './target.js';

/** Connects to the target the options name, runs `work` against it, and always closes the connection. */
export async function onTarget<Result>(
  io: CliIo,
  options: TargetOptions,
  work: (target: Target) => Promise<Result>,
): Promise<Result> {
  if (!io.connect)
    throw new UserFacingError(
      'this command needs a target and none can be reached from here. Fix: pass --local or AWS credentials',
    );
  const target = await io.connect(options);
  try {
    return await work(target);
  } finally {
    await target.close();
  }
}
