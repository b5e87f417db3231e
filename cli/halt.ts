import type { Command } from 'commander';
import { halt } from '../lambdas/application/halt.js';
import type { CliIo } from './context.js';
import { connectFor } from './on-target.js';
import { withActor, withJson, withRequiredReason } from './options.js';
import { type ControlOptions, decisionOf, report, scopeOf } from './release-control.js';
import { withTargetOptions } from './target.js';

/** `halt`: stops a release, every running release or one customer until resumed (sticky; see README "Control"). */
export function registerHalt(program: Command, io: CliIo): void {
  withTargetOptions(
    withJson(
      withActor(
        withRequiredReason(
          program
            .command('halt')
            .description('Halt a release, every running release (--all) or one customer, until resumed')
            .option('--version <tag>', 'the release to halt, e.g. v1.1.0')
            .option('--all', 'halt every running release')
            .option('--customer <name>', 'halt only this customer of the release (id or name)'),
        ),
      ),
    ),
  ).action(async (options: ControlOptions) => {
    const target = await connectFor(io, options);
    try {
      const { scope, customerId } = await scopeOf('halt', options);
      const decision = decisionOf(options);
      const results = await halt(scope, decision);
      report(
        io,
        options,
        {
          command: 'halt',
          ...decision,
          results: results.map((each) => ({ ...each, ...(customerId ? { customerId } : {}) })),
        },
        'no release is running or paused: nothing to halt',
      );
    } finally {
      await target.close();
    }
  });
}
