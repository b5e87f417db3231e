import type { HaltScope, OperationResult } from '../lambdas/application/halt.js';
import { requireKnownRelease, resolveReleaseCustomer } from '../lambdas/application/release-customers.js';
import { UsageError, UserFacingError } from '../lambdas/core/errors.js';
import type { CliIo } from './context.js';
import { actorOf, print } from './options.js';
import type { TargetOptions } from './target.js';

// What halt, resume and abort share: the scope named on the command line, and how their results print.

export interface ControlOptions extends TargetOptions {
  version?: string;
  all?: boolean;
  customer?: string;
  reason: string;
  by?: string;
  json?: boolean;
}

/**
 * `halt`, `resume`, `abort` with `--json`: what was asked and, per release (or customer), what happened.
 * `changed`: this command changed it; `refused`: it does not apply (an ended release, a deployed
 * customer); neither: it already was so (already halted, not halted, already aborted).
 */
export interface ControlResult {
  command: 'halt' | 'resume' | 'abort';
  by: string;
  reason: string;
  /** Each with `refused` true or false. */
  results: (OperationResult & { customerId?: string })[];
}

/** The release, every release (`--all`) or one customer of a release, or a usage error naming the fix. */
export async function scopeOf(
  command: string,
  options: ControlOptions,
): Promise<{ scope: HaltScope; customerId?: string }> {
  if (options.all && options.version) throw new UsageError(`${command}: give --version V or --all, not both`);
  if (options.all) {
    if (options.customer)
      throw new UsageError(`${command}: --customer needs the release: use --version V with --customer`);
    return { scope: { allReleases: true } };
  }
  if (!options.version)
    throw new UsageError(`${command}: name the release with --version V (or every release with --all)`);
  await requireKnownRelease(options.version);
  if (!options.customer) return { scope: { release: options.version } };
  const customer = await resolveReleaseCustomer(options.version, options.customer);
  return { scope: { release: options.version, customerId: customer.id }, customerId: customer.id };
}

/**
 * Prints what the command did (to stdout, or the JSON document); a part refused is an error (stderr, exit 1)
 * naming the reason, after what did change was printed.
 */
export function report(io: CliIo, options: ControlOptions, asked: ControlResult, nothing: string): void {
  const result = {
    ...asked,
    results: asked.results.map((each) => ({ ...each, refused: each.refused ?? false })),
  };
  const refused = result.results.filter((each) => each.refused);
  print(io, options, result, () => {
    if (result.results.length === 0) return nothing;
    const lines = result.results
      .filter((each) => !each.refused)
      .map((each) => (each.changed ? each.message : `${each.message}: nothing changed`));
    if (result.results.some((each) => each.changed))
      lines.push(`recorded: by ${result.by}, reason "${result.reason}"`);
    return lines.join('\n');
  });
  if (refused.length > 0) throw new UserFacingError(refused.map((each) => each.message).join('; '));
}

export function decisionOf(options: ControlOptions): { reason: string; by: string } {
  return { reason: options.reason, by: actorOf(options) };
}
