import type { Command } from 'commander';
import { type CreatedVersion, createVersion, validateRelease } from '../lambdas/application/versions.js';
import { UserFacingError } from '../lambdas/core/errors.js';
import type { Validation } from '../lambdas/core/policy-validation.js';
import type { CliIo } from './context.js';
import { gitRepository } from './git-repository.js';
import { onTarget } from './on-target.js';
import { actorOf, print, withActor, withJson } from './options.js';
import { type TargetOptions, withTargetOptions } from './target.js';

// The workflow document's Version Management commands of `scripts/tag-based-deploy.sh`.

interface CreateTagOptions extends TargetOptions {
  version: string;
  notes?: string;
  git?: boolean;
  by?: string;
  json?: boolean;
}

interface ValidateOptions extends TargetOptions {
  version: string;
  policy: string;
  json?: boolean;
}

export function registerCreateTag(program: Command, io: CliIo): void {
  const command = program
    .command('create-tag')
    .description(
      'Register a minor version: its release notes and who created it (with --git, also an annotated git tag)',
    )
    .requiredOption('--version <tag>', 'the minor release, e.g. v1.1.0')
    .option('--notes <path>', 'its release notes (default: docs/releases/<version>.md)')
    .option('--git', 'also create the annotated git tag on HEAD of the git checkout you are in');
  withJson(withActor(withTargetOptions(command))).action(async (options: CreateTagOptions) => {
    const created = await onTarget(io, options, () =>
      createVersion({
        version: options.version,
        notesPath: options.notes,
        by: actorOf(options),
        ...(options.git ? { git: gitRepository(io.cwd ?? process.cwd()) } : {}),
      }),
    );
    print(io, options, created, () => renderCreated(created));
  });
}

export function registerValidate(program: Command, io: CliIo): void {
  const command = program
    .command('validate')
    .description('Whether a version may go to a policy’s customers now, and why')
    .requiredOption('--version <tag>', 'the minor release, e.g. v1.1.0')
    .requiredOption('--policy <policy>', 'the customer policy: demo, startup, standard or enterprise');
  withJson(withTargetOptions(command)).action(async (options: ValidateOptions) => {
    const validation = await onTarget(io, options, () => validateRelease(options.version, options.policy));
    print(io, options, validation, () => renderValidation(validation));
    if (!validation.allowed)
      throw new UserFacingError(
        `${validation.version} may not go to ${validation.policy} customers yet (${validation.reasons.length} reason(s) above)`,
      );
  });
}

function renderCreated(created: CreatedVersion): string {
  return created.message;
}

function renderValidation(validation: Validation): string {
  const head = validation.allowed
    ? `${validation.version} may go to ${validation.policy} customers now (checked ${validation.checkedAt})`
    : `${validation.version} may not go to ${validation.policy} customers now (checked ${validation.checkedAt}):`;
  const lines = [head, ...validation.reasons.map((reason) => `  - ${reason}`)];
  for (const phase of validation.phases)
    if (phase.released)
      lines.push(
        `  ${phase.phase}: released${phase.testingEndsAt ? `, testing ${phase.testingOver ? 'ended' : 'ends'} ${phase.testingEndsAt}` : ''}`,
      );
  lines.push(
    `  critical issues: ${validation.criticalIssues.open} open (${validation.criticalIssues.reported} reported, ${validation.criticalIssues.accepted} accepted)`,
  );
  return lines.join('\n');
}
