import type { Command } from 'commander';
import type { StartedRelease } from '../lambdas/application/release-start.js';

/** Where a command acts: a deployed AWS account, or the local stack `npm start -- --serve` keeps running. */
export interface TargetOptions {
  /** Use the running local stack (its endpoints file) instead of AWS. */
  local?: boolean;
  /** AWS named profile (standard credential chain otherwise). */
  profile?: string;
  /** AWS region (standard chain otherwise). */
  region?: string;
}

export type { StartedRelease } from '../lambdas/application/release-start.js';

/**
 * A connected target. Connecting points the application layer at it (the store's table, the bus, the
 * email queue, Step Functions, the clock), so a command calls the same operations a Lambda handler does.
 */
export interface Target {
  kind: 'aws' | 'local';
  /** For people: "local stack (…/.local-stack/endpoints.json)" or "AWS account 123456789012, eu-west-1". */
  description: string;
  /** The target's current time, ISO-8601 UTC: the simulated clock's on a local stack. */
  now(): Promise<string>;
  /**
   * Starts the release execution of `version` on its deployed release state machine, named after the
   * version (so a second start is the same execution). A release stack not deployed is a UserFacingError
   * naming the deploy command.
   */
  startRelease(version: string, input: { version: string; startAt: string }): Promise<StartedRelease>;
  /** Starts the release at a later instant: EventBridge Scheduler on AWS, the simulated clock locally. */
  scheduleReleaseStart(
    version: string,
    input: { version: string; startAt: string },
    at: string,
  ): Promise<void>;
  /** Releases what the connection holds (clients, sockets). */
  close(): Promise<void>;
}

export type ConnectTarget = (options: TargetOptions) => Promise<Target>;

/** Adds `--local`, `--profile` and `--region` to a command that acts on a target. */
export function withTargetOptions(command: Command): Command {
  return command
    .option('--local', 'act on the local stack started by `npm start -- --serve`')
    .option('--profile <name>', 'AWS named profile (default: the standard credential chain)')
    .option('--region <region>', 'AWS region (default: the standard credential chain)');
}
