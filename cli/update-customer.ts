import type { Command } from 'commander';
import { assertReleaseOpen } from '../lambdas/application/control.js';
import { deployCustomersNow, type EarlyDeployment } from '../lambdas/application/early-deployments.js';
import { currentFleet } from '../lambdas/application/plan.js';
import { type NamedCustomer, resolveCustomerName } from '../lambdas/core/customer-names.js';
import { compareVersions, parseVersion } from '../lambdas/core/versions.js';
import { listCustomers } from '../lambdas/store/customers.js';
import type { CliIo } from './context.js';
import { earlyDeploymentLine, forceOf, refuseIfAnyRefused, versionTag } from './deploy-customers.js';
import { onTarget } from './on-target.js';
import { actorOf, print, progress, withActor, withJson } from './options.js';
import { type TargetOptions, withTargetOptions } from './target.js';

/**
 * What `update-customer` prints with `--json`: `{ release, by, force, reason, customerId, name, policy, outcome,
 * detail, expectedAt?, noticeSent? }`; `outcome` as deploy-customers gives it, or `already-on-version` when the
 * fleet has the customer on this version or a later one already.
 */
export interface UpdateCustomerResult extends Omit<EarlyDeployment, 'outcome'> {
  release: string;
  by: string;
  force: boolean;
  reason: string | null;
  outcome: EarlyDeployment['outcome'] | 'already-on-version';
}

interface UpdateCustomerOptions extends TargetOptions {
  version: string;
  customer: string;
  force?: boolean;
  reason?: string;
  by?: string;
  json?: boolean;
}

export function registerUpdateCustomer(program: Command, io: CliIo): void {
  const command = program
    .command('update-customer')
    .description(
      'Move one customer to a version now, by its policy’s rules (notice, approval, window), or at once with --force --reason',
    )
    .requiredOption('--version <tag>', 'the running release to move the customer to, e.g. v1.1.0', versionTag)
    .requiredOption('--customer <name>', 'the customer’s name or id, e.g. "ACME Corporation"')
    .option('--force', 'at once: no notice wait, no approval, no maintenance window (needs --reason)')
    .option('--reason <text>', 'why it is forced (kept in the customer’s history)');
  withJson(withActor(withTargetOptions(command))).action(async (options: UpdateCustomerOptions) => {
    const force = forceOf(options);
    const by = actorOf(options);
    const result = await onTarget(io, options, async (): Promise<UpdateCustomerResult> => {
      const context = {
        release: options.version,
        by,
        force: force !== undefined,
        reason: force?.reason ?? null,
      };
      const inRelease = await listCustomers(options.version);
      const fleet = (await currentFleet()).customers;
      const named = resolveCustomerName(options.customer, [...inRelease, ...fleetOnly(fleet, inRelease)]);
      const running = fleet.find((customer) => customer.id === named.id)?.currentVersion;
      if (running && compareVersions(parseVersion(running), parseVersion(options.version)) >= 0)
        return {
          ...context,
          customerId: named.id,
          name: named.name,
          policy: policyOf(named),
          outcome: 'already-on-version',
          detail: `already runs ${running}`,
        };
      await assertReleaseOpen(options.version, 'no customer is deployed');
      progress(io, options, `Deploying ${named.name} to ${options.version}…`);
      const [deployed] = await deployCustomersNow(options.version, [named.id], { by, force });
      if (!deployed) throw new Error(`no answer for ${named.id}`);
      return { ...context, ...deployed };
    });
    print(io, options, result, () => updateCustomerText(result));
    if (result.outcome !== 'already-on-version') refuseIfAnyRefused([result as EarlyDeployment]);
  });
}

/** Fleet customers the release has not planned: named, so they are found (and said to be outside it). */
function fleetOnly(
  fleet: readonly (NamedCustomer & { policy: string })[],
  inRelease: readonly NamedCustomer[],
): (NamedCustomer & { policy: string })[] {
  const planned = new Set(inRelease.map((customer) => customer.id));
  return fleet.filter((customer) => !planned.has(customer.id));
}

function policyOf(customer: NamedCustomer): string {
  return 'policy' in customer ? String(customer.policy) : 'unknown';
}

function updateCustomerText(result: UpdateCustomerResult): string {
  if (result.outcome === 'already-on-version')
    return `${result.name} (${result.customerId}) is already on ${result.release} or later: ${result.detail}; nothing to do`;
  return `${result.release}:\n${earlyDeploymentLine(result as EarlyDeployment)}`;
}
