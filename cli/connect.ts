import { UsageError } from '../lambdas/core/errors.js';
import type { Target, TargetOptions } from './target.js';

/** The real targets: the local stack with --local, otherwise the AWS account the credential chain names. */
export async function connectTarget(options: TargetOptions): Promise<Target> {
  if (options.local) {
    if (options.profile || options.region)
      throw new UsageError(
        '--local acts on the local stack: drop --profile and --region, or drop --local to act on AWS',
      );
    return (await import('./local-target.js')).connectLocal();
  }
  return (await import('./aws-target.js')).connectAws(options);
}
