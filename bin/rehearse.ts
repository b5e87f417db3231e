import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { parseStartInstant } from '../cli/plan-release.js';
import { loadScenario, type Scenario, scenarioSchema } from '../local/fleet-simulator.js';
import type { RehearsalOutcome } from '../local/rehearsal.js';
import { localFleet, rehearsalFleet } from '../local/rehearsal-input.js';

function parseDay(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 1s, 250ms or 0');
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('npm start --')
    .description(
      'Rehearses a release locally on the synthesized stacks: days compressed, no AWS account needed.',
    )
    .option('--version <tag>', 'release to rehearse', 'v1.1.0')
    .option('--fleet <file>', 'fleet file (default: config/customers.json)')
    .option('--start <iso>', 'simulated start (default: tomorrow 09:00 UTC)', (value) =>
      String(parseStartInstant(value).toISO()),
    )
    .option('--day <duration>', 'real time per simulated day; 0 = as fast as possible', parseDay, 1000)
    .option(
      '--auto-approve',
      'approve every enterprise request from the inbox instead of waiting for clicks',
      false,
    )
    .option('--scenario <file>', 'inject failures, degradation or slow answers (see README, "Scenarios")')
    .option('--json', 'print the outcome as JSON', false)
    .option(
      '--record-workload <dir>',
      "write the stand-ins' workload (DynamoDB requests, task results) to a folder, for the bench's floor",
    )
    .option(
      '--serve',
      'start the local stack and keep it running for the release manager commands (--local) until Ctrl-C',
      false,
    )
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const options = program.opts<{
    version: string;
    fleet?: string;
    start?: string;
    day: number;
    autoApprove: boolean;
    scenario?: string;
    json: boolean;
    serve: boolean;
    recordWorkload?: string;
  }>();
  const scenario = options.scenario ? loadScenario(options.scenario) : scenarioSchema.parse({});
  if (options.serve) return serve(options, scenario);
  // Refuse bad input before the local cloud (CDK, stand-ins) is even loaded.
  rehearsalFleet(options.version, options.fleet);
  const { rehearse } = await import('../local/rehearsal.js');
  const progress = options.json ? undefined : (line: string) => console.log(line);
  const outcome = await rehearse({
    version: options.version,
    startAt: options.start,
    fleetFile: options.fleet,
    msPerDay: options.day,
    autoApprove: options.autoApprove,
    scenario,
    progress,
    recordWorkloadTo: options.recordWorkload,
    // One folder per run, kept after it: `.rehearsal/<version>-<start time>/orchestrator.log`.
    logDirectory: join('.rehearsal', `${options.version}-${new Date().toISOString().replace(/[:.]/g, '-')}`),
  });
  if (options.json) console.log(JSON.stringify(outcome, null, 2));
  else printSummary(outcome);
  return outcome.status === 'SUCCEEDED' ? 0 : 1;
}

/** `--serve`: the local stack, kept running until interrupted; commands reach it with --local. */
async function serve(
  options: {
    fleet?: string;
    start?: string;
    day: number;
    autoApprove: boolean;
  },
  scenario: Scenario,
): Promise<number> {
  localFleet(options.fleet);
  const { serveLocalStack } = await import('../local/local-stack.js');
  const stack = await serveLocalStack({
    msPerDay: options.day,
    startAt: options.start,
    autoApprove: options.autoApprove,
    fleetFile: options.fleet,
    scenario,
    logDirectory: join('.rehearsal', `local-stack-${new Date().toISOString().replace(/[:.]/g, '-')}`),
    say: (line) => console.log(line),
  });
  const { local } = stack;
  console.log(
    `Local stack running (simulated time ${stack.clock.now()}, ${options.day} ms a simulated day).`,
  );
  console.log(
    `  Commands:     ./scripts/minor-release-manager.sh <command> --local   (endpoints: ${stack.file})`,
  );
  console.log(`  Inbox:        ${local.email.inboxUrl}`);
  console.log(`  Approval API: ${local.approvalUrl}`);
  console.log(`  Logs:         ${local.logFile}`);
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('Stopping the local stack…');
  await stack.stop();
  return 0;
}

function printSummary(outcome: RehearsalOutcome): void {
  console.log('');
  const headline = {
    SUCCEEDED: 'release complete',
    ABORTED: `release ABORTED: ${outcome.haltReason}`,
    FAILED: `release FAILED: ${outcome.haltReason}`,
    PAUSED: `release PAUSED at "${outcome.pausedAt?.state}", awaiting a decision that no scenario operation gives: ${outcome.haltReason}`,
  }[outcome.status];
  console.log(`${outcome.version}: ${headline}`);
  for (const halt of outcome.halts)
    console.log(
      `Halt (${halt.scope}) ${halt.from} → ${halt.to ?? 'still holding'}: ${halt.reason} (by ${halt.by})`,
    );
  console.table(outcome.phases);
  const { figures, limits, breaches } = outcome.quality;
  console.log(
    `Quality: rollback rate ${figures.rollbackRatePercent}% (limit ${limits.maxRollbackRatePercent}%), critical issues ${figures.criticalIssues} (limit ${limits.maxCriticalIssues}), performance impact ${figures.performanceImpactPercent}% (limit ${limits.maxPerformanceImpactPercent}%), support tickets +${figures.supportTicketIncreasePercent}% (limit +${limits.maxSupportTicketIncreasePercent}%)${
      breaches.length ? ` — BREACHED: ${breaches.join('; ')}` : ''
    }`,
  );
  console.log(
    `Emails sent: ${
      Object.entries(outcome.emails)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ') || 'none'
    }`,
  );
  console.log(
    `Deployment requests: ${outcome.deploymentRequests}; executions: ${outcome.executions}; state transitions: ${outcome.transitions}`,
  );
  console.log(
    `Largest execution history: ${outcome.maxHistoryEvents.events} events (${outcome.maxHistoryEvents.execution})`,
  );
  console.log(
    `Simulated ${outcome.startAt} → ${outcome.endedAt}; real ${outcome.realSeconds.toFixed(1)} s; peak memory ${outcome.peakMemoryMiB} MiB`,
  );
}

// Exit only once stdout has drained: a large --json outcome on a pipe would otherwise be cut short.
const exitAfterFlush = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(exitAfterFlush, (error) => {
  console.error(`error: ${(error as Error).message}`);
  exitAfterFlush(1);
});
