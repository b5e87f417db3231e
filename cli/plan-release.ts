import { type Command, InvalidArgumentError } from 'commander';
import { DateTime } from 'luxon';
import { type Takeover, takeoverPreview } from '../lambdas/application/overlap.js';
import { currentFleet } from '../lambdas/application/plan.js';
import { loadConfig, loadFleet } from '../lambdas/core/config.js';
import { withoutDowngrades } from '../lambdas/core/overlap.js';
import { planRelease } from '../lambdas/core/plan.js';
import { type CliIo, DEFAULT_CONFIG_DIR, DEFAULT_FLEET_FILE, resolveUserPath } from './context.js';
import { onTarget } from './on-target.js';
import { type TargetOptions, withTargetOptions } from './target.js';
import { renderTimeline } from './timeline.js';

interface PlanReleaseOptions extends TargetOptions {
  version: string;
  fleet?: string;
  start?: DateTime;
  json?: boolean;
  configDir?: string;
}

export function parseStartInstant(value: string): DateTime {
  // A timestamp without an offset is read as UTC, so the same command gives the same plan everywhere.
  const instant = DateTime.fromISO(value, { zone: 'utc', setZone: true });
  if (!instant.isValid) {
    throw new InvalidArgumentError(`expected an ISO-8601 instant like 2027-03-01T09:00:00Z, got '${value}'`);
  }
  return instant.toUTC();
}

/** The next day at 09:00 UTC: gives the platform team a working day to look at the plan before it starts. */
export function defaultStart(now: Date): DateTime {
  return DateTime.fromJSDate(now, { zone: 'utc' }).startOf('day').plus({ days: 1, hours: 9 });
}

/** A target is named: `--local`, `--profile` or `--region`. */
function targetGiven(options: TargetOptions): boolean {
  return Boolean(options.local || options.profile || options.region);
}

export function registerPlanRelease(program: Command, io: CliIo): void {
  const command = program
    .command('plan-release')
    .description(
      'Plan a minor release: every customer’s phase, batch, notice and deployment time. With a target (--local, --profile, --region) it plans the target’s fleet; with --fleet or without a target it plans a fleet file, offline. It records nothing.',
    )
    .requiredOption('--version <tag>', 'the minor release to plan, e.g. v1.1.0')
    .option(
      '--fleet <file>',
      'plan this fleet file, offline (default without a target: the sample fleet config/customers.json)',
    )
    .option('--start <iso-8601>', 'release start (default: the next day at 09:00 UTC)', parseStartInstant)
    .option(
      '--config-dir <dir>',
      'directory holding deployment-policies.json and minor-release-policies.json',
    )
    .option('--json', 'print the plan as JSON');
  withTargetOptions(command).action(async (options: PlanReleaseOptions) => {
    const config = loadConfig(
      options.configDir ? resolveUserPath(io, options.configDir) : DEFAULT_CONFIG_DIR,
    );
    const onItsTarget = targetGiven(options) && !options.fleet;
    const { fleet, leftOut, takeovers } = onItsTarget
      ? await onTarget(io, options, () => targetFleet(options.version))
      : {
          fleet: loadFleet(
            options.fleet ? resolveUserPath(io, options.fleet) : DEFAULT_FLEET_FILE,
            config.policies,
          ),
          leftOut: [],
          takeovers: [],
        };
    const startAt = options.start ?? defaultStart(io.now?.() ?? new Date());
    const plan = planRelease({ version: options.version, config, fleet, startAt });
    // On a target, what planning would also do: leave out customers already on the version or newer,
    // and take over the customers older running releases have not deployed yet.
    const json = onItsTarget ? { ...plan, leftOut, takesOver: takeovers } : plan;
    io.stdout(
      options.json
        ? `${JSON.stringify(json, null, 2)}\n`
        : `${renderTimeline(plan, config.policies)}${onItsTarget ? renderTakeovers(options.version, leftOut, takeovers) : ''}`,
    );
  });
}

/** The target's fleet as planning would take it: without downgrades, and what it would take over. */
async function targetFleet(version: string) {
  const fleet = await currentFleet();
  const { toPlan, leftOut } = withoutDowngrades(version, fleet.customers);
  const takeovers = await takeoverPreview(
    version,
    toPlan.map((customer) => customer.id),
  );
  return { fleet: { ...fleet, customers: toPlan }, leftOut, takeovers };
}

function renderTakeovers(
  version: string,
  leftOut: { id: string; reason: string }[],
  takeovers: Takeover[],
): string {
  const lines: string[] = [''];
  if (leftOut.length)
    lines.push(
      `Left out (never a downgrade): ${leftOut.map((customer) => `${customer.id} (${customer.reason})`).join(', ')}`,
    );
  for (const takeover of takeovers)
    lines.push(
      `Takes over from ${takeover.release}: ${takeover.takenOver.length} customer(s) it has not deployed yet end superseded there and follow ${version}${takeover.takenOver.length ? ` (${takeover.takenOver.join(', ')})` : ''}; ${takeover.goesOn.length} already asked to deploy go on there`,
    );
  if (!takeovers.length) lines.push('No running release is older: nothing to take over.');
  return `${lines.join('\n')}\n`;
}
