import { join, resolve } from 'node:path';
import { z } from 'zod';
import { importFleet } from '../lambdas/application/fleet.js';
import { startReleaseExecution } from '../lambdas/application/release-start.js';
import { SimulatedClock } from './clock.js';
import { FleetSimulator, type Scenario } from './fleet-simulator.js';
import { type LocalCloud, startLocalCloud } from './local-cloud.js';
import {
  LOCAL_OPERATIONS,
  LOCAL_STACK_FILE,
  removeLocalStackFile,
  writeLocalStackFile,
} from './local-stack-file.js';
import { approveEveryRequest, reportProgress } from './rehearsal.js';
import { localFleet } from './rehearsal-input.js';
import { SAMPLE_FLEET_FILE } from './sample-fleet.js';
import { LocalApiError } from './step-functions.js';

export interface LocalStackOptions {
  /** Real milliseconds per simulated day once something is scheduled (the clock stands still when idle). */
  msPerDay: number;
  /** Simulated time at the start; default: now. */
  startAt?: string;
  autoApprove: boolean;
  /** The fleet imported into the stack's table (default: the sample fleet, config/customers.json). */
  fleetFile?: string;
  /** How the simulated customer environments answer deployment and rollback requests. */
  scenario: Scenario;
  /** Where the functions' log lines go. */
  logDirectory: string;
  /** Where the endpoints file is written (tests use their own). */
  file?: string;
  say: (line: string) => void;
}

export interface RunningLocalStack {
  local: LocalCloud;
  clock: SimulatedClock;
  file: string;
  stop(): Promise<void>;
}

const versionInput = z.object({ version: z.string().min(1) });
const scheduledStart = z.object({
  version: z.string().min(1),
  at: z.iso.datetime({ offset: true }),
  input: z.object({ version: z.string(), startAt: z.string() }),
});

/**
 * The rehearsal's runtime kept running for people: the platform deployed on the stand-ins, release stacks
 * deployed as commands start them, simulated time at `msPerDay`, and a file saying how to reach it all
 * (`.local-stack/endpoints.json`), which the commands' `--local` reads.
 */
export async function serveLocalStack(options: LocalStackOptions): Promise<RunningLocalStack> {
  const startAt = options.startAt ?? `${new Date().toISOString().slice(0, 19)}Z`;
  const clock = new SimulatedClock({ startAt, msPerSimulatedDay: options.msPerDay });
  const local = await startLocalCloud({ clock, logFile: join(options.logDirectory, 'orchestrator.log') });
  // The fleet lives in the table, as on AWS: the sample fleet (or --fleet) is imported first.
  const fleet = localFleet(options.fleetFile);
  const imported = await importFleet(
    { json: fleet, label: options.fleetFile ?? SAMPLE_FLEET_FILE },
    'local stack',
  );
  options.say(`Fleet: ${imported.added.length} customers imported (fleet revision ${imported.revision})`);
  // The customers' environments: they answer the platform's deployment and rollback requests.
  const policies = new Map(fleet.customers.map((customer) => [customer.id, customer.policy]));
  new FleetSimulator(local.bus, clock, options.scenario, (id) => policies.get(id));
  reportProgress(local, options.say);
  if (options.autoApprove) approveEveryRequest(local, clock, options.say);
  const bad = (what: string) => new LocalApiError('ValidationException', what);
  local.addOperations({
    [LOCAL_OPERATIONS.now]: () => ({ now: clock.now() }),
    [LOCAL_OPERATIONS.deployRelease]: (body) => {
      const parsed = versionInput.safeParse(body);
      if (!parsed.success) throw bad('DeployRelease needs {"version": "v1.1.0"}');
      deploy(parsed.data.version);
      return {};
    },
    [LOCAL_OPERATIONS.scheduleReleaseStart]: (body) => {
      const parsed = scheduledStart.safeParse(body);
      if (!parsed.success) throw bad('ScheduleReleaseStart needs {"version", "at", "input"}');
      const { version, at, input } = parsed.data;
      deploy(version);
      options.say(`⏰ ${version} starts at ${at}`);
      void clock
        .at(at, () => startReleaseExecution(input))
        .catch((error: Error) => {
          options.say(`⚠ the scheduled start of ${version} failed: ${error.message}`);
        });
      return {};
    },
  });
  const deploy = (version: string) => {
    try {
      local.deployRelease(version);
    } catch (error) {
      throw bad(`cannot deploy the release stack of ${version}: ${(error as Error).message}`);
    }
  };
  const file = options.file ?? LOCAL_STACK_FILE;
  writeLocalStackFile(
    {
      pid: process.pid,
      startedAt: startAt,
      endpointUrl: local.endpointUrl,
      inboxUrl: local.email.inboxUrl,
      approvalUrl: local.approvalUrl,
      logFile: resolve(local.logFile),
      environment: { ...local.environment },
    },
    file,
  );
  return {
    local,
    clock,
    file,
    async stop() {
      removeLocalStackFile(file);
      await local.stop();
    },
  };
}
