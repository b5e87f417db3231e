import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type Customer, type MaintenanceWindow, POLICY_NAMES } from '../core/model.js';
import { dynamo } from '../shared/clients.js';
import { customerPartitionOf, everyPartition, queryPartitions } from './customer-partitions.js';
import { parseItem, tableName, writeIf } from './table.js';

// The fleet: every customer's profile as an item, spread over CUSTOMER_PARTITIONS partitions (FLEET#<n>, n
// the hash of its id that also picks its partition of each release: so importing 100,000 customers, or
// recording 9,000 deployments at once, is not one partition's 1,000 writes a second), and one META item
// with the fleet's revision (FLEET / META).

const CUSTOMER_PREFIX = 'CUSTOMER#';
const fleetPartitionKey = (partition: number) => `FLEET#${partition}`;
/** Every partition key of the fleet's customers, in partition order. */
export const fleetPartitions = (): string[] => everyPartition(fleetPartitionKey);
/** A fleet customer's item. */
export const fleetCustomerKey = (id: string) => ({
  PK: fleetPartitionKey(customerPartitionOf(id)),
  SK: `${CUSTOMER_PREFIX}${id}`,
});
const fleetMetaKey = { PK: 'FLEET', SK: 'META' };

const contact = z.object({ name: z.string(), email: z.string() });

const fleetCustomerItem = z.looseObject({
  id: z.string(),
  name: z.string(),
  policy: z.enum(POLICY_NAMES),
  currentVersion: z.string(),
  contacts: z.array(contact),
  approvers: z.array(contact),
  maintenanceWindow: z.custom<MaintenanceWindow>((value) => typeof value === 'object' && value !== null),
  updatedAt: z.string(),
  updatedBy: z.string(),
  /** Bumped by every write of the item: the optimistic lock of read-decide-write updates. */
  itemRevision: z.number(),
  /** The version each release deployed the customer from, by release: where its rollback goes back to. */
  deployedFrom: z.record(z.string(), z.string()).default({}),
  /** The releases that rolled the customer back: a late report of their deployment changes nothing. */
  rolledBackBy: z.array(z.string()).default([]),
});

/** A customer as the fleet keeps it: its profile, and what its deployments and rollbacks recorded. */
export type FleetCustomerRecord = z.infer<typeof fleetCustomerItem>;

const fleetMetaItem = z.looseObject({
  revision: z.number(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  customers: z.number(),
});

/** The profile fields only (what planning and `customers show` use), in a fixed order. */
export function customerOf(record: FleetCustomerRecord): Customer {
  const { id, name, policy, currentVersion, contacts, approvers, maintenanceWindow } = record;
  return { id, name, policy, currentVersion, contacts, approvers, maintenanceWindow };
}

export async function getFleetCustomer(id: string): Promise<FleetCustomerRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: fleetCustomerKey(id) }),
  );
  return result.Item ? parseItem(fleetCustomerItem, result.Item) : undefined;
}

/** Every fleet customer, in id order. */
export async function* fleetCustomers(): AsyncGenerator<FleetCustomerRecord> {
  for await (const item of queryPartitions(fleetPartitions(), {
    TableName: tableName(),
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':prefix': CUSTOMER_PREFIX },
  }))
    yield parseItem(fleetCustomerItem, item);
}

/**
 * Writes a customer's profile: a new one only when absent (`seenRevision` undefined), a known one only if
 * nobody wrote it since it was read at `seenRevision`. False when that condition did not hold.
 */
export async function putFleetCustomer(
  customer: Customer,
  change: { at: string; by: string; seenRevision?: number },
): Promise<boolean> {
  const { at, by, seenRevision } = change;
  if (seenRevision === undefined)
    return writeIf(
      new PutCommand({
        TableName: tableName(),
        Item: {
          ...fleetCustomerKey(customer.id),
          ...customer,
          updatedAt: at,
          updatedBy: by,
          itemRevision: 1,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: fleetCustomerKey(customer.id),
      UpdateExpression:
        'SET #name = :name, #policy = :policy, currentVersion = :version, contacts = :contacts, approvers = :approvers, maintenanceWindow = :window, updatedAt = :at, updatedBy = :by, itemRevision = :next',
      ConditionExpression: 'itemRevision = :seen',
      ExpressionAttributeNames: { '#name': 'name', '#policy': 'policy' },
      ExpressionAttributeValues: {
        ':name': customer.name,
        ':policy': customer.policy,
        ':version': customer.currentVersion,
        ':contacts': customer.contacts,
        ':approvers': customer.approvers,
        ':window': customer.maintenanceWindow,
        ':at': at,
        ':by': by,
        ':seen': seenRevision,
        ':next': seenRevision + 1,
      },
    }),
  );
}

/**
 * Sets the version a customer runs (and what its deployments and rollbacks recorded), if nobody wrote the
 * item since it was read at `seenRevision`. False when someone did: read it again and decide again.
 */
export async function setFleetCustomerVersion(
  id: string,
  change: Pick<FleetCustomerRecord, 'currentVersion' | 'deployedFrom' | 'rolledBackBy'> & {
    at: string;
    by: string;
    seenRevision: number;
  },
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: fleetCustomerKey(id),
      UpdateExpression:
        'SET currentVersion = :version, deployedFrom = :from, rolledBackBy = :rolledBack, updatedAt = :at, updatedBy = :by, itemRevision = :next',
      ConditionExpression: 'itemRevision = :seen',
      ExpressionAttributeValues: {
        ':version': change.currentVersion,
        ':from': change.deployedFrom,
        ':rolledBack': change.rolledBackBy,
        ':at': change.at,
        ':by': change.by,
        ':seen': change.seenRevision,
        ':next': change.seenRevision + 1,
      },
    }),
  );
}

export interface FleetRevision {
  /** Bumped once by every import or edit that changed the fleet; 0 before the first import. */
  revision: number;
  updatedAt: string | null;
  customers: number;
}

/** The fleet's revision (one read): what a release was planned with, against what the fleet is now. */
export async function getFleetRevision(): Promise<FleetRevision> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: fleetMetaKey }),
  );
  if (!result.Item) return { revision: 0, updatedAt: null, customers: 0 };
  const meta = parseItem(fleetMetaItem, result.Item);
  return { revision: meta.revision, updatedAt: meta.updatedAt, customers: meta.customers };
}

/** Counts one change of the fleet: the revision goes up by one, the customer count by `added`. */
export async function bumpFleetRevision(change: {
  added: number;
  at: string;
  by: string;
}): Promise<FleetRevision> {
  const result = await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: fleetMetaKey,
      UpdateExpression: 'SET updatedAt = :at, updatedBy = :by ADD revision :one, customers :added',
      ExpressionAttributeValues: { ':at': change.at, ':by': change.by, ':one': 1, ':added': change.added },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const meta = parseItem(fleetMetaItem, result.Attributes ?? {});
  return { revision: meta.revision, updatedAt: meta.updatedAt, customers: meta.customers };
}
