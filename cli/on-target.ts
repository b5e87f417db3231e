import { UserFacingError } from '../lambdas/core/errors.js';
import type { CliIo } from './context.js';
import type { Target, TargetOptions } from './target.js';

/** Connects to the target the options name (the caller closes it). */
export async function connectFor(io: CliIo, options: TargetOptions): Promise<Target> {
  if (!io.connect)
    throw new UserFacingError(
      'this command needs a target and none can be reached from here. Fix: pass --local or AWS credentials',
    );
  return io.connect(options);
}

/** Connects to the target the options name, runs `work` against it, and always closes the connection. */
export async function onTarget<Result>(
  io: CliIo,
  options: TargetOptions,
  work: (target: Target) => Promise<Result>,
): Promise<Result> {
  const target = await connectFor(io, options);
  try {
    return await work(target);
  } finally {
    await target.close();
  }
}
