import type { Command } from 'commander';
import {
  type ChecklistStatus,
  checklistOf,
  type TickResult,
  tickChecklistItem,
} from '../lambdas/application/checklist.js';
import { CHECKLIST_ITEM_IDS, isChecklistItemId } from '../lambdas/core/checklist.js';
import { UsageError } from '../lambdas/core/errors.js';
import type { CliIo } from './context.js';
import { onTarget } from './on-target.js';
import { actorOf, print, withActor, withJson } from './options.js';
import { type TargetOptions, withTargetOptions } from './target.js';

interface ChecklistOptions extends TargetOptions {
  version: string;
  tick?: string;
  evidence?: string;
  by?: string;
  json?: boolean;
}

export function registerChecklist(program: Command, io: CliIo): void {
  const command = program
    .command('checklist')
    .description('Show the pre-release checklist of a release, or tick one of its items')
    .requiredOption('--version <tag>', 'the minor release, e.g. v1.1.0')
    .option(
      '--tick <items>',
      'tick these items (ids, comma-separated, e.g. backward-compatible,unit-tests-pass)',
    )
    .option('--evidence <url>', 'with --tick: a link to the proof (CI run, review, document)');
  withJson(withActor(withTargetOptions(command))).action(async (options: ChecklistOptions) => {
    await onTarget(io, options, async () => {
      if (options.tick) {
        const items = options.tick
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean);
        // Every id is checked before any is ticked: a typo changes nothing.
        const unknown = items.filter((item) => !isChecklistItemId(item));
        if (items.length > 1 && unknown.length)
          throw new UsageError(
            `unknown checklist item(s) ${unknown.join(', ')}; nothing was ticked. Fix: use ids from: ${CHECKLIST_ITEM_IDS.join(', ')}`,
          );
        const results: TickResult[] = [];
        for (const item of items)
          results.push(await tickChecklistItem(options.version, item, actorOf(options), options.evidence));
        // One item: its result; several (comma-separated): the list of results.
        const [only] = results;
        if (only && results.length === 1) print(io, options, only, () => renderTick(only));
        else print(io, options, results, () => results.map(renderTick).join('\n'));
        return;
      }
      if (options.evidence !== undefined)
        throw new UsageError('--evidence goes with --tick. Fix: add --tick ITEM');
      const status = await checklistOf(options.version);
      print(io, options, status, () => renderChecklist(status));
    });
  });
}

function renderTick(result: TickResult): string {
  const evidence = result.tick.evidence ? `\n  evidence: ${result.tick.evidence}` : '';
  return `${result.message}${evidence}`;
}

export function renderChecklist(status: ChecklistStatus): string {
  const lines = [`Pre-release checklist · ${status.version} · ${status.ticked} of ${status.total} ticked`];
  for (const section of status.sections) {
    lines.push('', section.title);
    for (const item of section.items) {
      const done = item.tick
        ? ` — ${item.tick.by}, ${item.tick.at}${item.tick.evidence ? `, ${item.tick.evidence}` : ''}`
        : '';
      lines.push(`  [${item.tick ? 'x' : ' '}] ${item.id}: ${item.text}${done}`);
    }
  }
  if (status.override)
    lines.push(
      '',
      `Overridden by ${status.override.by} at ${status.override.at} with ${status.override.openItems.length} item(s) open: ${status.override.reason}`,
    );
  lines.push(
    '',
    status.complete
      ? `Every item is ticked: start-phase --version ${status.version} --phase demo may start the release.`
      : `Tick an item: checklist --version ${status.version} --tick ITEM --by NAME [--evidence URL]`,
  );
  return lines.join('\n');
}
