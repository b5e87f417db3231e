import type { Command } from 'commander';
import {
  moveToCustomerPartitions,
  type PartitionMoveCounts,
  type StoreUpgradeResult,
} from '../lambdas/application/store-upgrade.js';
import type { CliIo } from './context.js';
import { onTarget } from './on-target.js';
import { print, progress, withJson } from './options.js';
import { type Target, type TargetOptions, withTargetOptions } from './target.js';

/** `migrate-store`: moves what the previous version wrote at old keys to the customer partitions (README "Upgrading the store"). */
export function registerMigrateStore(program: Command, io: CliIo): void {
  withJson(
    withTargetOptions(
      program
        .command('migrate-store')
        .description(
          'After an upgrade: move the items the previous version wrote at old keys to the customer partitions (again: nothing to move)',
        )
        .option('--dry-run', 'count what would move; change nothing'),
    ),
  ).action(async (options: TargetOptions & { json?: boolean; dryRun?: boolean }) => {
    await onTarget(io, options, async (target) => {
      progress(
        io,
        options,
        `${options.dryRun ? 'Counting' : 'Moving'} the items at old keys on ${target.description} …`,
      );
      const result = await moveToCustomerPartitions({ dryRun: options.dryRun });
      print(io, options, result, () => upgradeText(result, target));
    });
  });
}

function upgradeText(result: StoreUpgradeResult, target: Target): string {
  const scopes = [
    ...result.releases.map(({ release, ...counts }) => ({ name: release, ...counts })),
    { name: 'fleet', ...result.fleet },
  ];
  const inPlace = scopes.reduce((sum, scope) => sum + scope.alreadyInPlace, 0);
  if (scopes.every((scope) => scope.moved === 0))
    return `The table on ${target.description} is already in the current layout: nothing to move (${items(inPlace)} in the customer partitions; ${result.releases.length} release(s) and the fleet checked).`;
  const header = result.dryRun
    ? `Dry run on ${target.description}, nothing changed; migrate-store would move to the customer partitions:`
    : `Moved to the customer partitions on ${target.description}:`;
  return [
    header,
    ...scopes.map(({ name, ...counts }) => `  ${name}: ${countsText(counts, result.dryRun)}`),
  ].join('\n');
}

function countsText({ moved, alreadyInPlace }: PartitionMoveCounts, dryRun: boolean): string {
  const inPlace = alreadyInPlace ? `${items(alreadyInPlace)} already in place` : '';
  if (moved === 0) return `nothing to move${inPlace ? ` (${inPlace})` : ''}`;
  return `${items(moved)} ${dryRun ? 'to move' : 'moved'}${inPlace ? `, ${inPlace}` : ''}`;
}

const items = (count: number) => `${count.toLocaleString('en-US')} item${count === 1 ? '' : 's'}`;
