import { type Command, Option } from 'commander';
import { type FleetImportResult, importFleet } from '../lambdas/application/fleet.js';
import { resolveCustomerName } from '../lambdas/core/customer-names.js';
import { ConfigError, formatConfigIssue, UserFacingError } from '../lambdas/core/errors.js';
import {
  type Customer,
  type MaintenanceWindow,
  POLICY_NAMES,
  type PolicyName,
} from '../lambdas/core/model.js';
import {
  customerOf,
  type FleetCustomerRecord,
  fleetCustomers,
  getFleetCustomer,
  getFleetRevision,
} from '../lambdas/store/fleet.js';
import type { CliIo } from './context.js';
import { resolveUserPath } from './context.js';
import { onTarget } from './on-target.js';
import { actorOf, print, progress, withActor, withJson } from './options.js';
import { type Target, type TargetOptions, withTargetOptions } from './target.js';

interface JsonOption {
  json?: boolean;
}

/** The JSON shape of `customers list --json`: the fleet revision and the customers (of `--policy`), by id. */
interface CustomerList {
  revision: number;
  updatedAt: string | null;
  customers: Customer[];
}

/**
 * The JSON shape of `customers show --json`: the customer's profile, who changed it last and when, the
 * version each release deployed it from, and the releases that rolled it back.
 */
interface CustomerDetails {
  customer: Customer;
  updatedAt: string;
  updatedBy: string;
  deployedFrom: Record<string, string>;
  rolledBackBy: string[];
}

export function registerCustomers(program: Command, io: CliIo): void {
  const customers = program
    .command('customers')
    .description('The fleet as data: import customer profiles into the table, list and show them');

  withJson(
    withActor(
      withTargetOptions(
        customers
          .command('import')
          .description(
            'Import a fleet file: every entry is validated first (any problem: nothing is imported); new customers are added, changed ones rewritten',
          )
          .argument('<file>', 'fleet JSON, shaped like config/customers.json'),
      ),
    ),
  ).action(async (file: string, options: TargetOptions & JsonOption & { by?: string }) => {
    const path = resolveUserPath(io, file);
    await onTarget(io, options, async (target) => {
      progress(io, options, `Importing ${path} into the fleet on ${target.description} …`);
      const result = await importOrExplain(path, actorOf(options));
      print(io, options, result, () => importText(result, target));
    });
  });

  withJson(
    withTargetOptions(
      customers
        .command('list')
        .description('List the fleet’s customers: id, name, policy, the version each runs, its window')
        .addOption(
          new Option('--policy <policy>', 'only the customers of this policy').choices(POLICY_NAMES),
        ),
    ),
  ).action(async (options: TargetOptions & JsonOption & { policy?: PolicyName }) => {
    await onTarget(io, options, async () => {
      const revision = await getFleetRevision();
      const listed: Customer[] = [];
      for await (const record of fleetCustomers())
        if (!options.policy || record.policy === options.policy) listed.push(customerOf(record));
      const value: CustomerList = {
        revision: revision.revision,
        updatedAt: revision.updatedAt,
        customers: listed,
      };
      print(io, options, value, () => listText(value, options.policy));
    });
  });

  withJson(
    withTargetOptions(
      customers
        .command('show')
        .description('Show one customer: profile, contacts, approvers, the version it runs and why')
        .argument('<customer>', 'its id or name (case-insensitive; a unique start of the name will do)'),
    ),
  ).action(async (query: string, options: TargetOptions & JsonOption) => {
    await onTarget(io, options, async () => {
      const record = await findCustomer(query);
      const { updatedAt, updatedBy, deployedFrom, rolledBackBy } = record;
      const value: CustomerDetails = {
        customer: customerOf(record),
        updatedAt,
        updatedBy,
        deployedFrom,
        rolledBackBy,
      };
      print(io, options, value, () => showText(value));
    });
  });
}

async function importOrExplain(file: string, by: string): Promise<FleetImportResult> {
  try {
    return await importFleet({ file }, by);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const count = error.issues.length === 1 ? 'a problem' : `${error.issues.length} problems`;
    throw new UserFacingError(
      `${file} has ${count}; nothing was imported:\n${error.issues.map(formatConfigIssue).join('\n')}`,
    );
  }
}

/** An id is read directly; anything else is resolved against every customer's id and name. */
async function findCustomer(query: string): Promise<FleetCustomerRecord> {
  const byId = await getFleetCustomer(query.trim());
  if (byId) return byId;
  const all: FleetCustomerRecord[] = [];
  for await (const record of fleetCustomers()) all.push(record);
  if (all.length === 0)
    throw new UserFacingError('the fleet is empty: import it first with `customers import FILE`');
  return resolveCustomerName(query, all);
}

const MAX_IDS_SHOWN = 20;

function ids(list: string[]): string {
  const shown = list.slice(0, MAX_IDS_SHOWN).join(', ');
  return list.length > MAX_IDS_SHOWN ? `${shown} and ${list.length - MAX_IDS_SHOWN} more` : shown;
}

function importText(result: FleetImportResult, target: Target): string {
  const lines: string[] = [];
  if (result.added.length === 0 && result.changed.length === 0)
    lines.push(
      `Nothing to change: the ${result.unchanged} customers of ${result.source} are already in the fleet as it says (fleet revision ${result.revision}, ${result.customers} customers).`,
    );
  else
    lines.push(
      `Imported ${result.source} into the fleet on ${target.description}: ${result.added.length} added, ${result.changed.length} changed, ${result.unchanged} unchanged. Fleet revision ${result.revision}, ${result.customers} customers.`,
    );
  if (result.added.length) lines.push(`  added: ${ids(result.added)}`);
  for (const { id, fields } of result.changed.slice(0, MAX_IDS_SHOWN))
    lines.push(`  changed: ${id} (${fields.join(', ')})`);
  if (result.changed.length > MAX_IDS_SHOWN)
    lines.push(`  … and ${result.changed.length - MAX_IDS_SHOWN} more changed`);
  for (const kept of result.versionsKept.slice(0, MAX_IDS_SHOWN))
    lines.push(
      `  kept: ${kept.id} runs ${kept.currentVersion} (the file says ${kept.inFile}; an import never downgrades)`,
    );
  return lines.join('\n');
}

function windowText(window: MaintenanceWindow): string {
  return `${window.days.join(',')} ${window.start} +${window.durationMinutes}m ${window.timeZone}`;
}

function listText(list: CustomerList, policy: PolicyName | undefined): string {
  const header = `${list.customers.length} customers${policy ? ` on the ${policy} policy` : ''} (fleet revision ${list.revision}${list.updatedAt ? `, updated ${list.updatedAt}` : ''})`;
  if (list.revision === 0) return 'The fleet is empty: import it with `customers import FILE`.';
  if (list.customers.length === 0) return header;
  const rows = list.customers.map((customer) => [
    customer.id,
    customer.name,
    customer.policy,
    customer.currentVersion,
    windowText(customer.maintenanceWindow),
  ]);
  const headings = ['ID', 'NAME', 'POLICY', 'VERSION', 'WINDOW'];
  const widths = headings.map((heading, column) =>
    Math.max(heading.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [header, line(headings), ...rows.map(line)].join('\n');
}

function showText(details: CustomerDetails): string {
  const { customer } = details;
  const people = (list: { name: string; email: string }[]) =>
    list.length ? list.map((person) => `${person.name} <${person.email}>`).join(', ') : 'none';
  const deployed = Object.entries(details.deployedFrom)
    .map(([release, from]) => `${release} (from ${from})`)
    .join(', ');
  return [
    `${customer.name} (${customer.id})`,
    `  policy:             ${customer.policy}`,
    `  current version:    ${customer.currentVersion}`,
    `  maintenance window: ${windowText(customer.maintenanceWindow)}`,
    `  contacts:           ${people(customer.contacts)}`,
    `  approvers:          ${people(customer.approvers)}`,
    ...(deployed ? [`  deployed by:        ${deployed}`] : []),
    ...(details.rolledBackBy.length ? [`  rolled back by:     ${details.rolledBackBy.join(', ')}`] : []),
    `  last changed:       ${details.updatedAt} by ${details.updatedBy}`,
  ].join('\n');
}
