import type { Command } from 'commander';
import { rollBackGatedBatch } from '../lambdas/application/halt.js';
import { requireKnownRelease, resolveReleaseCustomers } from '../lambdas/application/release-customers.js';
import {
  type OperatorRollback,
  rollBackCustomers,
  rollBackForOperator,
} from '../lambdas/application/rollbacks.js';
import { UsageError, UserFacingError } from '../lambdas/core/errors.js';
import type { CliIo } from './context.js';
import { connectFor } from './on-target.js';
import { actorOf, print, withActor, withJson, withRequiredReason } from './options.js';
import { type TargetOptions, withTargetOptions } from './target.js';

interface RollbackOptions extends TargetOptions {
  version: string;
  customers?: string;
  batch?: boolean;
  reason: string;
  by?: string;
  json?: boolean;
}

/**
 * `rollback --customers "A,B" --json`: per customer named, `outcome` started | already-rolling-back |
 * refused, its `state` after the request and, when refused, the `reason` (window closed, not deployed…).
 */
export interface CustomersRollbackResult {
  command: 'rollback';
  release: string;
  by: string;
  reason: string;
  customers: (OperatorRollback & { name: string })[];
}

/**
 * `rollback --batch --json`: the batch of the failed gate the release is paused on; `customers` deployed
 * customers asked, `started`, `alreadyRollingBack`, and `refused` with the reason each.
 */
export interface BatchRollbackResult {
  command: 'rollback';
  release: string;
  by: string;
  reason: string;
  batch: {
    changed: boolean;
    customers: number;
    started: number;
    alreadyRollingBack: number;
    refused: { customerId: string; reason: string }[];
    message: string;
  };
}

function customersText(result: CustomersRollbackResult): string {
  const lines = result.customers
    .filter((each) => each.outcome !== 'refused')
    .map((each) =>
      each.outcome === 'started'
        ? `${each.name} (${each.customerId}): rollback started (${each.state})`
        : `${each.name} (${each.customerId}): already ${each.state}: nothing changed`,
    );
  if (result.customers.some((each) => each.outcome === 'started'))
    lines.push(`recorded: by ${result.by}, reason "${result.reason}"`);
  return lines.join('\n');
}

export function registerRollback(program: Command, io: CliIo): void {
  withTargetOptions(
    withJson(
      withActor(
        withRequiredReason(
          program
            .command('rollback')
            .description(
              'Roll customers back to their previous version, each by its policy’s process and inside its window',
            )
            .requiredOption('--version <tag>', 'the release, e.g. v1.1.0')
            .option(
              '--customers <names>',
              'comma-separated customer ids or names, e.g. "ACME Corp,TechStart Inc"',
            )
            .option('--batch', 'roll back the batch of the failed gate the release is paused on'),
        ),
      ),
    ),
  ).action(async (options: RollbackOptions) => {
    if (Boolean(options.customers) === Boolean(options.batch))
      throw new UsageError('rollback: give either --customers "A,B" or --batch');
    const target = await connectFor(io, options);
    try {
      await requireKnownRelease(options.version);
      const decision = { reason: options.reason, by: actorOf(options) };
      if (options.batch) {
        const done = await rollBackGatedBatch(options.version, decision, rollBackCustomers);
        const tally = done.rollbacks ?? { started: 0, alreadyRollingBack: 0, refused: [] };
        const result: BatchRollbackResult = {
          command: 'rollback',
          release: options.version,
          ...decision,
          batch: { changed: done.changed, customers: done.customers, ...tally, message: done.message },
        };
        print(io, options, result, () =>
          done.changed
            ? `${done.message}\nrecorded: by ${decision.by}, reason "${decision.reason}"`
            : done.message,
        );
        if (tally.refused.length > 0)
          throw new UserFacingError(
            `the rollback of ${tally.refused.length} customer(s) was refused: ${tally.refused
              .map((each) => `${each.customerId} (${each.reason})`)
              .join('; ')}`,
          );
        return;
      }
      const named = await resolveReleaseCustomers(options.version, options.customers ?? '');
      const names = new Map(named.map((customer) => [customer.id, customer.name]));
      const rolled = await rollBackForOperator(
        options.version,
        named.map((customer) => customer.id),
        decision,
      );
      const result: CustomersRollbackResult = {
        command: 'rollback',
        release: options.version,
        ...decision,
        customers: rolled.map((each) => ({ ...each, name: names.get(each.customerId) ?? each.customerId })),
      };
      print(io, options, result, () => customersText(result));
      const refused = result.customers.filter((each) => each.outcome === 'refused');
      if (refused.length > 0)
        throw new UserFacingError(
          `rollback refused for ${refused.map((each) => `${each.name} (${each.reason})`).join('; ')}`,
        );
    } finally {
      await target.close();
    }
  });
}
