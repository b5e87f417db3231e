import { type Command, InvalidArgumentError } from 'commander';
import { assertReleaseOpen } from '../lambdas/application/control.js';
import {
  deployCustomersNow,
  type EarlyDeployment,
  type EarlyOutcome,
} from '../lambdas/application/early-deployments.js';
import { resolveCustomerNames } from '../lambdas/core/customer-names.js';
import { UsageError, UserFacingError } from '../lambdas/core/errors.js';
import { POLICY_NAMES, type PolicyName } from '../lambdas/core/model.js';
import { parseVersion } from '../lambdas/core/versions.js';
import { listCustomers } from '../lambdas/store/customers.js';
import type { CliIo } from './context.js';
import { onTarget } from './on-target.js';
import { actorOf, print, progress, withActor, withJson } from './options.js';
import { type TargetOptions, withTargetOptions } from './target.js';

/** `--version v1.1.0`, checked as a tag before anything is asked of the target. */
export function versionTag(value: string): string {
  try {
    parseVersion(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

/** `--force` goes with `--reason` (kept in the customer's history), and `--reason` only with `--force`. */
export function forceOf(options: { force?: boolean; reason?: string }): { reason: string } | undefined {
  if (options.force && !options.reason)
    throw new UsageError('--force needs --reason TEXT: why it cannot wait (kept in the customer’s history)');
  if (!options.force && options.reason)
    throw new UsageError('--reason goes with --force; without --force the customer’s policy rules apply');
  return options.force && options.reason ? { reason: options.reason } : undefined;
}

const MARKS: Record<EarlyOutcome, string> = {
  started: '→',
  'already-started': '=',
  'already-deployed': '=',
  'in-flight': '=',
  refused: '✗',
};

const SAID: Record<EarlyOutcome, string> = {
  started: 'started',
  'already-started': 'already started',
  'already-deployed': 'already deployed',
  'in-flight': 'in flight',
  refused: 'refused',
};

/** Exit 1 (after the answer is printed) when any customer was refused: the reasons are in the answer. */
export function refuseIfAnyRefused(customers: readonly EarlyDeployment[]): void {
  const refused = customers.filter((customer) => customer.outcome === 'refused');
  if (refused.length)
    throw new UserFacingError(
      `${refused.length} customer(s) not deployed: ${refused.map((customer) => `${customer.customerId} (${customer.detail})`).join('; ')}`,
    );
}

export function earlyDeploymentLine(result: EarlyDeployment): string {
  return `  ${MARKS[result.outcome]} ${result.name} (${result.customerId}): ${SAID[result.outcome]} — ${result.detail}`;
}

/**
 * What `deploy-customers` prints with `--json`: `{ release, by, force, reason, customers: EarlyDeployment[] }`
 * (`reason` null unless forced; each customer `{ customerId, name, policy, outcome, detail, expectedAt?,
 * noticeSent? }`).
 */
export interface DeployCustomersResult {
  release: string;
  by: string;
  force: boolean;
  reason: string | null;
  customers: EarlyDeployment[];
}

interface DeployCustomersOptions extends TargetOptions {
  version: string;
  customers: string;
  force?: boolean;
  reason?: string;
  by?: string;
  json?: boolean;
}

export function registerDeployCustomers(program: Command, io: CliIo): void {
  const command = program
    .command('deploy-customers')
    .description(
      'Deploy customers now instead of on their step’s day: with their notice, approval and window, or at once with --force --reason',
    )
    .requiredOption('--version <tag>', 'the running release, e.g. v1.1.0', versionTag)
    .requiredOption(
      '--customers <policy-or-names>',
      `a policy (${POLICY_NAMES.join(', ')}) or comma-separated customer names or ids, e.g. "ACME Corp,TechStart Inc"`,
    )
    .option('--force', 'at once: no notice wait, no approval, no maintenance window (needs --reason)')
    .option('--reason <text>', 'why it is forced (kept in each customer’s history)');
  withJson(withActor(withTargetOptions(command))).action(async (options: DeployCustomersOptions) => {
    const force = forceOf(options);
    const by = actorOf(options);
    const result = await onTarget(io, options, async () => {
      await assertReleaseOpen(options.version, 'no customer is deployed');
      const ids = await selectCustomers(options.version, options.customers);
      progress(io, options, `Deploying ${ids.length} customer(s) of ${options.version} early…`);
      const customers = await deployCustomersNow(options.version, ids, {
        by,
        force,
        progress: (line) => progress(io, options, `  ${line}`),
      });
      return {
        release: options.version,
        by,
        force: force !== undefined,
        reason: force?.reason ?? null,
        customers,
      };
    });
    print(io, options, result, () => deployCustomersText(result));
    refuseIfAnyRefused(result.customers);
  });
}

/** The ids `--customers` names: every customer of the release with that policy, or each customer named. */
async function selectCustomers(release: string, selection: string): Promise<string[]> {
  const customers = await listCustomers(release);
  const policy = selection.trim().toLowerCase();
  if ((POLICY_NAMES as readonly string[]).includes(policy)) {
    const ofPolicy = customers.filter((customer) => customer.policy === (policy as PolicyName));
    if (!ofPolicy.length) throw new UserFacingError(`${release} has no ${policy} customers`);
    return ofPolicy.map((customer) => customer.id);
  }
  return resolveCustomerNames(selection, customers).map((customer) => customer.id);
}

function deployCustomersText(result: DeployCustomersResult): string {
  const counts = new Map<EarlyOutcome, number>();
  for (const customer of result.customers)
    counts.set(customer.outcome, (counts.get(customer.outcome) ?? 0) + 1);
  const summary = [...counts].map(([outcome, count]) => `${count} ${SAID[outcome]}`).join(', ');
  const how = result.force ? `forced by ${result.by}: ${result.reason}` : `asked by ${result.by}`;
  return [
    `${result.release}: early deployment of ${result.customers.length} customer(s), ${how}`,
    ...result.customers.map(earlyDeploymentLine),
    summary,
  ].join('\n');
}
