import { bundledConfig, loadFleet, parseFleet } from '../core/config.js';
import type { Customer } from '../core/model.js';
import { compareVersions, parseVersion } from '../core/versions.js';
import { now } from '../shared/clock.js';
import { logger } from '../shared/observability.js';
import {
  bumpFleetRevision,
  customerOf,
  type FleetCustomerRecord,
  fleetCustomers,
  getFleetCustomer,
  getFleetRevision,
  putFleetCustomer,
  setFleetCustomerVersion,
} from '../store/fleet.js';

// The fleet as data: customers are imported into the table (validated with the same rules as the fleet
// file always was), and their `currentVersion` follows what the releases deploy and roll back.

const WRITE_CONCURRENCY = 25;
const MAX_ATTEMPTS = 10;

/** What `customers import` reads: a fleet file, or a fleet already parsed from JSON (named by `label`). */
export type FleetSource = { file: string } | { json: unknown; label: string };

/**
 * The result of an import (the JSON shape of `customers import --json`): the fleet revision after it, the
 * ids of the customers added, the changed customers with the fields that changed, how many were already
 * as the file says, and the customers whose recorded version is newer than the file's (kept: an import
 * never downgrades a customer).
 */
export interface FleetImportResult {
  source: string;
  revision: number;
  customers: number;
  added: string[];
  changed: { id: string; fields: string[] }[];
  unchanged: number;
  versionsKept: { id: string; currentVersion: string; inFile: string }[];
}

/**
 * Imports a fleet: validates every entry first (a ConfigError lists every problem with its file, JSON path
 * and fix, and nothing is written), then adds new customers and rewrites changed ones; customers already as
 * the file says are not written, and the fleet revision goes up once, only if something changed. Customers
 * the file does not name are kept. Safe to run twice: the second run finds everything unchanged.
 */
export async function importFleet(source: FleetSource, by: string): Promise<FleetImportResult> {
  const { policies } = bundledConfig();
  const label = 'file' in source ? source.file : source.label;
  const fleet =
    'file' in source ? loadFleet(source.file, policies) : parseFleet(source.json, label, policies);

  const stored = new Map<string, FleetCustomerRecord>();
  for await (const record of fleetCustomers()) stored.set(record.id, record);

  const at = now();
  const result: FleetImportResult = {
    source: label,
    revision: 0,
    customers: 0,
    added: [],
    changed: [],
    unchanged: 0,
    versionsKept: [],
  };
  for (let start = 0; start < fleet.customers.length; start += WRITE_CONCURRENCY) {
    await Promise.all(
      fleet.customers
        .slice(start, start + WRITE_CONCURRENCY)
        .map((customer) => upsert(customer, stored.get(customer.id), { at, by }, result)),
    );
  }
  const changedSomething = result.added.length > 0 || result.changed.length > 0;
  const revision = changedSomething
    ? await bumpFleetRevision({ added: result.added.length, at, by })
    : await getFleetRevision();
  result.revision = revision.revision;
  result.customers = revision.customers;
  result.added.sort();
  result.changed.sort((a, b) => (a.id < b.id ? -1 : 1));
  result.versionsKept.sort((a, b) => (a.id < b.id ? -1 : 1));
  return result;
}

async function upsert(
  fromFile: Customer,
  known: FleetCustomerRecord | undefined,
  change: { at: string; by: string },
  result: FleetImportResult,
): Promise<void> {
  let current = known;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const wanted = current ? keepNewerVersion(fromFile, current) : fromFile;
    if (!current) {
      if (await putFleetCustomer(wanted, change)) {
        result.added.push(wanted.id);
        return;
      }
    } else {
      const fields = changedFields(customerOf(current), wanted);
      if (fields.length === 0) {
        result.unchanged += 1;
        noteKeptVersion(fromFile, current, result);
        return;
      }
      if (await putFleetCustomer(wanted, { ...change, seenRevision: current.itemRevision })) {
        result.changed.push({ id: wanted.id, fields });
        noteKeptVersion(fromFile, current, result);
        return;
      }
    }
    // Someone else wrote the customer since it was read (a deployment, another import): decide again.
    current = await getFleetCustomer(fromFile.id);
  }
  throw new Error(`customer ${fromFile.id} kept changing while it was imported; run the import again`);
}

function isNewer(a: string, b: string): boolean {
  return compareVersions(parseVersion(a), parseVersion(b)) > 0;
}

/** The file's profile, but never an older version than the one the fleet records (a release deployed it). */
function keepNewerVersion(fromFile: Customer, stored: FleetCustomerRecord): Customer {
  return isNewer(stored.currentVersion, fromFile.currentVersion)
    ? { ...fromFile, currentVersion: stored.currentVersion }
    : fromFile;
}

function noteKeptVersion(fromFile: Customer, stored: FleetCustomerRecord, result: FleetImportResult): void {
  if (isNewer(stored.currentVersion, fromFile.currentVersion))
    result.versionsKept.push({
      id: fromFile.id,
      currentVersion: stored.currentVersion,
      inFile: fromFile.currentVersion,
    });
}

function changedFields(before: Customer, after: Customer): string[] {
  return (Object.keys(after) as (keyof Customer)[]).filter(
    (field) => canonical(before[field]) !== canonical(after[field]),
  );
}

/** JSON with object keys in order: the same value written in another key order is the same value. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, each: unknown) =>
    each && typeof each === 'object' && !Array.isArray(each)
      ? Object.fromEntries(Object.entries(each).sort(([a], [b]) => (a < b ? -1 : 1)))
      : each,
  );
}

/** What a release's deployment or rollback did to the version a customer runs. */
export type CustomerVersionEvent = 'deployed' | 'rolled-back';

export interface CustomerVersionResult {
  /** `unchanged`: already so, or a stale event (an older release, a release that rolled it back). */
  change: 'changed' | 'unchanged' | 'not-in-fleet';
  currentVersion?: string;
}

/**
 * Keeps a fleet customer's `currentVersion` true after a release's transition: `deployed` moves it up to
 * the release's version (never down: a late report of an older release changes nothing), `rolled-back`
 * moves it back to the version that release deployed it from (only while it still runs that release's
 * version). Read, decide, write conditionally on the item's revision, again if someone wrote in between:
 * safe to run twice and under any interleaving of deployments and rollbacks.
 */
export async function recordCustomerVersion(
  customerId: string,
  release: string,
  event: CustomerVersionEvent,
): Promise<CustomerVersionResult> {
  const by = `release ${release} (${event})`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = await getFleetCustomer(customerId);
    if (!record) {
      logger.warn('Customer not in the fleet: its version is not recorded', { customerId, release, event });
      return { change: 'not-in-fleet' };
    }
    const next = event === 'deployed' ? afterDeployment(record, release) : afterRollback(record, release);
    if (!next) return { change: 'unchanged', currentVersion: record.currentVersion };
    const written = await setFleetCustomerVersion(customerId, {
      ...next,
      at: now(),
      by,
      seenRevision: record.itemRevision,
    });
    if (written)
      return {
        change: next.currentVersion === record.currentVersion ? 'unchanged' : 'changed',
        currentVersion: next.currentVersion,
      };
  }
  throw new Error(`the fleet entry of ${customerId} kept changing; its version was not recorded`);
}

type VersionState = Pick<FleetCustomerRecord, 'currentVersion' | 'deployedFrom' | 'rolledBackBy'>;

function afterDeployment(record: FleetCustomerRecord, release: string): VersionState | undefined {
  if (record.rolledBackBy.includes(release) || !isNewer(release, record.currentVersion)) return undefined;
  return {
    currentVersion: release,
    deployedFrom: { ...record.deployedFrom, [release]: record.currentVersion },
    rolledBackBy: record.rolledBackBy,
  };
}

function afterRollback(record: FleetCustomerRecord, release: string): VersionState | undefined {
  if (record.rolledBackBy.includes(release)) return undefined;
  const { [release]: before, ...deployedFrom } = record.deployedFrom;
  // Still on this release's version: back to where it deployed from. On another (a newer release deployed
  // it since): the version stays; the rollback is remembered so a late deployment report changes nothing.
  const back = record.currentVersion === release ? before : undefined;
  if (record.currentVersion === release && !before)
    logger.warn('No version recorded before this release: the version is kept', {
      customerId: record.id,
      release,
    });
  return {
    currentVersion: back ?? record.currentVersion,
    deployedFrom,
    rolledBackBy: [...record.rolledBackBy, release],
  };
}
