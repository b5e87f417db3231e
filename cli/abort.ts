import type { Command } from 'commander';
import { abort } from '../lambdas/application/halt.js';
import { requireKnownRelease } from '../lambdas/application/release-customers.js';
import type { CliIo } from './context.js';
import { connectFor } from './on-target.js';
import { withActor, withJson, withRequiredReason } from './options.js';
import { type ControlOptions, decisionOf, report } from './release-control.js';
import { withTargetOptions } from './target.js';

/** `abort`: ends a release; customers not yet asked to deploy end `cancelled` (see README "Control"). */
export function registerAbort(program: Command, io: CliIo): void {
  withTargetOptions(
    withJson(
      withActor(
        withRequiredReason(
          program
            .command('abort')
            .description(
              'Abort a release: customers not yet deployed are cancelled and told; deployed ones stay',
            )
            .requiredOption('--version <tag>', 'the release to abort, e.g. v1.1.0'),
        ),
      ),
    ),
  ).action(async (options: ControlOptions & { version: string }) => {
    const target = await connectFor(io, options);
    try {
      await requireKnownRelease(options.version);
      const decision = decisionOf(options);
      const result = await abort(options.version, decision);
      report(io, options, { command: 'abort', ...decision, results: [result] }, '');
    } finally {
      await target.close();
    }
  });
}
