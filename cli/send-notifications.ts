import { type Command, Option } from 'commander';
import { type PhaseNotices, sendPhaseNotices } from '../lambdas/application/notices.js';
import { POLICY_NAMES, type PolicyName } from '../lambdas/core/model.js';
import type { CliIo } from './context.js';
import { versionTag } from './deploy-customers.js';
import { onTarget } from './on-target.js';
import { actorOf, print, progress, withActor, withJson } from './options.js';
import { type TargetOptions, withTargetOptions } from './target.js';

interface SendNotificationsOptions extends TargetOptions {
  version: string;
  phase: PolicyName;
  by?: string;
  json?: boolean;
}

export function registerSendNotifications(program: Command, io: CliIo): void {
  const command = program
    .command('send-notifications')
    .description(
      'Send a phase’s advance notices now, once: every customer of the phase not told yet is told its planned deployment time',
    )
    .requiredOption('--version <tag>', 'the running release, e.g. v1.1.0', versionTag)
    .addOption(
      new Option('--phase <phase>', 'the phase whose customers to tell')
        .choices(POLICY_NAMES)
        .makeOptionMandatory(),
    );
  withJson(withActor(withTargetOptions(command))).action(async (options: SendNotificationsOptions) => {
    const by = actorOf(options);
    const result = await onTarget(io, options, () => {
      progress(io, options, `Sending the ${options.phase} notices of ${options.version}…`);
      return sendPhaseNotices(options.version, options.phase, {
        by,
        progress: (line) => progress(io, options, `  ${line}`),
      });
    });
    print(io, options, result, () => noticesText(result));
  });
}

function noticesText(result: PhaseNotices): string {
  const head = `${result.release} ${result.phase}`;
  const lines = [
    result.sent.length
      ? `${head}: sent ${result.sent.length} advance notice(s) now, each telling the customer its planned deployment time`
      : result.alreadySent.length
        ? `${head}: already sent, nothing sent now`
        : `${head}: no notice to send`,
  ];
  const more: [string[], string][] = [
    [result.alreadySent, 'already sent'],
    [result.noNoticeNeeded, 'need no advance notice (their policy gives none)'],
    [result.noDateYet, 'have no deployment time yet (no window before their deadline): not told'],
    [result.haltedCustomers, 'are halted on their own: not told until resumed'],
    [result.pastNotice, 'are past their notice (deployed at once, or their rollout ended)'],
  ];
  for (const [ids, what] of more) if (ids.length) lines.push(`  ${ids.length} customer(s) ${what}`);
  return lines.join('\n');
}
