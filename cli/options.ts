import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from './context.js';

/** Who a change is recorded as made by, when `--by` is not given: the OS user running the command. */
export function defaultActor(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function nonEmpty(what: string) {
  return (value: string): string => {
    const trimmed = value.trim();
    if (!trimmed) throw new InvalidArgumentError(`${what} must not be empty`);
    return trimmed;
  };
}

/** `--by NAME` (default: the OS user): recorded with every change the command makes. */
export function withActor(command: Command): Command {
  return command.option(
    '--by <name>',
    'who is making the change (default: your OS user name)',
    nonEmpty('--by'),
  );
}

/** `--reason TEXT`, required: kept with the change in the release's history. */
export function withRequiredReason(command: Command): Command {
  return command.requiredOption('--reason <text>', 'why (kept in the release history)', nonEmpty('--reason'));
}

/** `--json`: the command prints one JSON document (its shape is in the README) instead of text. */
export function withJson(command: Command): Command {
  return command.option('--json', 'print the result as JSON');
}

export function actorOf(options: { by?: string }): string {
  return options.by ?? defaultActor();
}

/** Prints `value` as JSON, or `text()` for people. */
export function print(io: CliIo, options: { json?: boolean }, value: unknown, text: () => string): void {
  io.stdout(options.json ? `${JSON.stringify(value, null, 2)}\n` : ensureNewline(text()));
}

/** A progress line on stderr (so `--json` output stays one document), for work that takes a while. */
export function progress(io: CliIo, options: { json?: boolean }, line: string): void {
  if (!options.json) io.stderr(`${line}\n`);
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
