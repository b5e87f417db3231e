import { setTimeout as delay } from 'node:timers/promises';
import { type Command, InvalidArgumentError } from 'commander';
import {
  type CustomerStatusReport,
  customerStatus,
  hasEnded,
  type ReleaseStatusReport,
  releaseStatus,
} from '../lambdas/application/status.js';
import type { CliIo } from './context.js';
import { connectFor } from './on-target.js';
import { print, withJson } from './options.js';
import { renderCustomerStatus, renderReleaseStatus, when } from './status-text.js';
import { type TargetOptions, withTargetOptions } from './target.js';

interface CheckStatusOptions extends TargetOptions {
  version: string;
  customer?: string;
  json?: boolean;
  watch?: boolean;
  interval: number;
}

const DEFAULT_INTERVAL_SECONDS = 10;

function parseInterval(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 1)
    throw new InvalidArgumentError(`expected a number of seconds, at least 1, got '${value}'`);
  return seconds;
}

async function sleepFor(milliseconds: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(milliseconds, undefined, { signal });
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
}

type Report = ReleaseStatusReport | CustomerStatusReport;

function read(options: CheckStatusOptions): Promise<Report> {
  return options.customer
    ? customerStatus(options.version, options.customer)
    : releaseStatus(options.version);
}

function statusOf(report: Report) {
  return 'releaseStatus' in report ? report.releaseStatus : report.status;
}

function show(io: CliIo, options: CheckStatusOptions, report: Report): void {
  if (options.json && options.watch) {
    // One JSON document a line, one line per refresh.
    io.stdout(`${JSON.stringify(report)}\n`);
    return;
  }
  print(io, options, report, () =>
    'releaseStatus' in report ? renderCustomerStatus(report) : renderReleaseStatus(report),
  );
}

/** Reprints the status every interval until the release has ended or the watch is stopped (Ctrl-C). */
async function watch(io: CliIo, options: CheckStatusOptions): Promise<void> {
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  if (io.signal?.aborted) stop();
  io.signal?.addEventListener('abort', stop, { once: true });
  if (!io.signal) process.once('SIGINT', stop);
  try {
    for (let refresh = 0; ; refresh += 1) {
      const report = await read(options);
      if (refresh > 0 && !options.json) io.stdout(`\n── ${when(report.asOf)} ${'─'.repeat(60)}\n`);
      show(io, options, report);
      if (hasEnded(statusOf(report))) {
        if (!options.json)
          io.stdout(`${options.version} has ended (${statusOf(report)}); stopped watching.\n`);
        return;
      }
      if (stopping.signal.aborted) return;
      await (io.sleep ?? sleepFor)(options.interval * 1000, stopping.signal);
      if (stopping.signal.aborted) return;
    }
  } finally {
    io.signal?.removeEventListener('abort', stop);
    process.off('SIGINT', stop);
  }
}

export function registerCheckStatus(program: Command, io: CliIo): void {
  withTargetOptions(
    withJson(
      program
        .command('check-status')
        .description(
          'Where a release stands: per phase and batch, pending approvals, paused gates, what comes next, its quality',
        )
        .requiredOption('--version <tag>', 'the release, e.g. v1.1.0')
        .option(
          '--customer <name>',
          'one customer instead: its id or name (case-insensitive, a unique prefix)',
        )
        .option('--watch', 'reprint every interval until the release ends (Ctrl-C stops)')
        .option(
          '--interval <seconds>',
          'seconds between refreshes with --watch',
          parseInterval,
          DEFAULT_INTERVAL_SECONDS,
        ),
    ),
  ).action(async (options: CheckStatusOptions) => {
    const target = await connectFor(io, options);
    try {
      if (options.watch) await watch(io, options);
      else show(io, options, await read(options));
    } finally {
      await target.close();
    }
  });
}
