import type { Command } from 'commander';
import { resume } from '../lambdas/application/halt.js';
import type { CliIo } from './context.js';
import { connectFor } from './on-target.js';
import { withActor, withJson, withRequiredReason } from './options.js';
import { type ControlOptions, decisionOf, report, scopeOf } from './release-control.js';
import { withTargetOptions } from './target.js';

/** `resume`: lets a halted or paused release (every release --all halted, or one customer) go on where it stopped. */
export function registerResume(program: Command, io: CliIo): void {
  withTargetOptions(
    withJson(
      withActor(
        withRequiredReason(
          program
            .command('resume')
            .description(
              'Resume a halted or paused release (accepting a failed gate’s result), every release halted with --all, or one customer',
            )
            .option('--version <tag>', 'the release to resume, e.g. v1.1.0')
            .option('--all', 'resume every release halted by halt --all')
            .option('--customer <name>', 'resume only this customer of the release (id or name)'),
        ),
      ),
    ),
  ).action(async (options: ControlOptions) => {
    const target = await connectFor(io, options);
    try {
      const { scope, customerId } = await scopeOf('resume', options);
      const decision = decisionOf(options);
      const results = await resume(scope, decision);
      report(
        io,
        options,
        {
          command: 'resume',
          ...decision,
          results: results.map((each) => ({ ...each, ...(customerId ? { customerId } : {}) })),
        },
        'no release is halted by halt --all: nothing to resume',
      );
    } finally {
      await target.close();
    }
  });
}
