import type { Command } from 'commander';
import { type StartPhaseResult, startPhase } from '../lambdas/application/start-phase.js';
import type { CliIo } from './context.js';
import { onTarget } from './on-target.js';
import { actorOf, print, progress, withActor, withJson } from './options.js';
import { parseStartInstant } from './plan-release.js';
import { type TargetOptions, withTargetOptions } from './target.js';

interface StartPhaseOptions extends TargetOptions {
  version: string;
  phase: string;
  at?: string;
  override?: boolean;
  reason?: string;
  by?: string;
  json?: boolean;
}

export function registerStartPhase(program: Command, io: CliIo): void {
  const command = program
    .command('start-phase')
    .description(
      'Start a phase: the first (demo) starts the release once its checklist is ticked; a later one releases a release paused before it, or says when it opens',
    )
    .requiredOption('--version <tag>', 'the minor release, e.g. v1.1.0')
    .requiredOption('--phase <phase>', 'demo, startup, standard or enterprise')
    .option(
      '--at <iso-8601>',
      'schedule the start of the release at this instant (first phase only)',
      (value) => parseStartInstant(value).toISO({ suppressMilliseconds: true }) ?? value,
    )
    .option('--override', 'start although pre-release checklist items are open (needs --reason; recorded)')
    .option('--reason <text>', 'why: kept with an --override, or with the resume a later phase makes');
  withJson(withActor(withTargetOptions(command))).action(async (options: StartPhaseOptions) => {
    const result = await onTarget(io, options, (target) => {
      progress(io, options, `start-phase ${options.phase} of ${options.version} on ${target.description} …`);
      return startPhase(
        {
          version: options.version,
          phase: options.phase,
          by: actorOf(options),
          ...(options.at ? { at: options.at } : {}),
          ...(options.override ? { override: true } : {}),
          ...(options.reason ? { reason: options.reason } : {}),
        },
        target,
      );
    });
    print(io, options, result, () => renderStartPhase(result));
  });
}

function renderStartPhase(result: StartPhaseResult): string {
  const override = result.override
    ? `\nChecklist overridden with these items open: ${result.override.openItems.join(', ')}`
    : '';
  return `${result.message}${override}`;
}
