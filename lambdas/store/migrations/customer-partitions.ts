import { isDeepStrictEqual } from 'node:util';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { UserFacingError } from '../../core/errors.js';
import { dynamo } from '../../shared/clients.js';
import { customerPartition, customerPartitions } from '../customer-partitions.js';
import { fleetCustomerKey, fleetPartitions } from '../fleet.js';
import { isConditionFailure, queryAll, queryPages, releaseKey, tableName } from '../table.js';

// The upgrade to the customer partitions (customer-partitions.ts). The previous version kept a release's
// per-customer items (CUSTOMER#<id>, STEP#<key>#CUSTOMER#<id>, PARKED#<id>, HEALTH#<id>#<at>) under
// RELEASE#<v> and the fleet's customers under FLEET; the current one reads them only in their customer
// partition. This finds the items still at the old keys and moves each one.
//
// A move copies the item to its new key (only if that key is free), then deletes the old one only if it is
// still what was copied. DynamoDB's TransactWriteItems would do both at once, but the local stand-in
// (dynalite) has no transactions, and compares lists and maps by reference in a condition; so the move is
// two conditional writes, whose deletion returns the item it deleted: that returned item, compared here
// attribute by attribute, is what decides whether the copy is exact, not the condition. In between, the item
// is at both keys: the current code reads the copy, the previous one the original. A write to the original
// during the move is carried over to the copy (only the attributes it changed, so a write to another
// attribute of the copy is kept too), and the move tries again; a write to the same attribute at both keys
// stops the move with an error naming the item, both kept. Lists and maps are compared by type and size in
// those conditions: a same-size change to one at both keys at once is not seen. Halting first (README,
// "Upgrading the store") leaves nothing writing at both keys.

/** A table key. */
export interface TableKey {
  PK: string;
  SK: string;
}

/** An item as read, keys included. */
export type StoredItem = TableKey & Record<string, unknown>;

/** An item at an old key and the key the current version reads it at. */
export interface MisplacedItem {
  item: StoredItem;
  to: TableKey;
}

/** `moved`: it is at its new key now; `gone`: it left its old key while being moved (deleted meanwhile). */
export type MoveOutcome = 'moved' | 'gone';

/** How often a move is tried again after its item changed at the old key, before it gives up. */
export const MOVE_ATTEMPTS = 5;

const OLD_RELEASE_PREFIXES = ['CUSTOMER#', 'STEP#', 'PARKED#', 'HEALTH#'] as const;
const STEP_MEMBER_MARK = '#CUSTOMER#';
const FLEET_CUSTOMER_PREFIX = 'CUSTOMER#';

/** The release's per-customer items still under RELEASE#<v>, each with its key in the customer partition. */
export async function* releaseItemsAtOldKeys(release: string): AsyncGenerator<MisplacedItem> {
  for (const prefix of OLD_RELEASE_PREFIXES)
    for await (const item of itemsUnder(releaseKey(release), prefix)) {
      // STEP#<key> is the step's own item, which stays; its members are STEP#<key>#CUSTOMER#<id>.
      if (prefix === 'STEP#' && !item.SK.includes(STEP_MEMBER_MARK)) continue;
      yield { item, to: { PK: customerPartition(release, customerIdOf(item)), SK: item.SK } };
    }
}

/** The fleet's customers still under FLEET, each with its key in its fleet partition. */
export async function* fleetItemsAtOldKeys(): AsyncGenerator<MisplacedItem> {
  for await (const item of itemsUnder('FLEET', FLEET_CUSTOMER_PREFIX))
    yield { item, to: fleetCustomerKey(item.SK.slice(FLEET_CUSTOMER_PREFIX.length)) };
}

/** How many items the release's customer partitions hold. */
export const countInCustomerPartitions = (release: string): Promise<number> =>
  countIn(customerPartitions(release));

/** How many customers the fleet's partitions hold. */
export const countInFleetPartitions = (): Promise<number> => countIn(fleetPartitions());

async function* itemsUnder(partitionKey: string, prefix: string): AsyncGenerator<StoredItem> {
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':partition': partitionKey, ':prefix': prefix },
  }))
    yield item as StoredItem;
}

async function countIn(partitionKeys: string[]): Promise<number> {
  const counts = await Promise.all(
    partitionKeys.map(async (partitionKey) => {
      let count = 0;
      for await (const page of queryPages({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :partition',
        ExpressionAttributeValues: { ':partition': partitionKey },
        Select: 'COUNT',
      }))
        count += page.Count ?? 0;
      return count;
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/** The customer a per-customer item of a release belongs to: from its sort key, a report's from its field. */
function customerIdOf(item: StoredItem): string {
  const { SK } = item;
  const id = SK.startsWith('CUSTOMER#')
    ? SK.slice('CUSTOMER#'.length)
    : SK.startsWith('PARKED#')
      ? SK.slice('PARKED#'.length)
      : SK.startsWith('STEP#')
        ? SK.slice(SK.indexOf(STEP_MEMBER_MARK) + STEP_MEMBER_MARK.length)
        : item.customerId;
  if (typeof id === 'string' && id !== '') return id;
  throw new UserFacingError(
    `${describe(item)} names no customer (a health report needs its customerId), so its customer partition is unknown; nothing of it was moved. Fix: set its customerId (the id in its sort key) or delete it, then run migrate-store again`,
  );
}

/**
 * Moves `read` (an item as read at its old key) to `to`: copies it there, then deletes it at its old key
 * if it is still as copied; if it changed meanwhile, carries the change over to the copy and tries again,
 * MOVE_ATTEMPTS times. A UserFacingError, naming the item, when it keeps changing or changed at both keys.
 */
export async function moveItem(read: StoredItem, to: TableKey): Promise<MoveOutcome> {
  const from = keyOf(read);
  let current: StoredItem | undefined = read;
  // What this move last wrote at `to` (its attributes): undefined until the first copy.
  let copied: Record<string, unknown> | undefined;
  for (let attempt = 1; attempt <= MOVE_ATTEMPTS; attempt += 1) {
    if (!current) {
      // Deleted at its old key meanwhile (a parked rollout answered, say): the copy must not bring it back.
      if (copied) await removeCopy(to, copied, read);
      return 'gone';
    }
    const attributes = attributesOf(current);
    // The item changed at its old key since the last copy: the copy takes the attributes that changed, only
    // if it still holds them as copied (a write to the copy meanwhile is kept).
    if (copied) {
      if (!(await changeIf(to, copied, attributes))) throw changedAtBothKeys(read, to);
    } else await copy(attributes, to, read);
    copied = attributes;
    const deleted = await deleteIfUnchanged(from, attributes);
    if (deleted) {
      const last = attributesOf(deleted);
      // A change the condition cannot see (an attribute added, an element of a list replaced) came first.
      if (!isDeepStrictEqual(last, attributes)) await carryOverOrPutBack(to, attributes, last, deleted);
      return 'moved';
    }
    current = await getItem(from);
  }
  if (copied) await removeCopy(to, copied, read);
  throw new UserFacingError(
    `${describe(read)} changed during each of ${MOVE_ATTEMPTS} attempts to move it to ${describe(to)}; it is still at its old key, unchanged by the move. Fix: halt what writes it (halt --all), then run migrate-store again`,
  );
}

/** Writes the item's attributes at `to`, unless `to` holds something else already. */
async function copy(attributes: Record<string, unknown>, to: TableKey, read: StoredItem): Promise<void> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...attributes, ...to },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // A move cut short copied it already: the same item at both keys is one to finish moving.
    const there = await getItem(to);
    if (there && isDeepStrictEqual(attributesOf(there), attributes)) return;
    throw differentAtBothKeys(read, to, 'neither was changed');
  }
}

/**
 * After the old item was deleted as `last`, which differs from the copy's `copied`: carries the difference
 * over to the copy, or, when the copy changed too, puts the old item back before saying so.
 */
async function carryOverOrPutBack(
  to: TableKey,
  copied: Record<string, unknown>,
  last: Record<string, unknown>,
  deleted: StoredItem,
): Promise<void> {
  if (await changeIf(to, copied, last)) return;
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: deleted,
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  throw changedAtBothKeys(deleted, to);
}

async function changeIf(
  key: TableKey,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Promise<boolean> {
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (name) => !isDeepStrictEqual(before[name], after[name]),
  );
  if (changed.length === 0) return true;
  const expression = new Expression();
  const sets: string[] = [];
  const removes: string[] = [];
  const guards = ['attribute_exists(PK)'];
  for (const name of changed) {
    const alias = expression.name(name);
    if (after[name] === undefined) removes.push(alias);
    else sets.push(`${alias} = ${expression.value(after[name])}`);
    guards.push(expression.holds(name, before[name]));
  }
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: key,
        UpdateExpression: [
          sets.length ? `SET ${sets.join(', ')}` : '',
          removes.length ? `REMOVE ${removes.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join(' '),
        ConditionExpression: guards.join(' AND '),
        ...expression.parameters(),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Deletes the item at `key` if it still holds `attributes`: the item deleted, undefined when it did not. */
async function deleteIfUnchanged(
  key: TableKey,
  attributes: Record<string, unknown>,
): Promise<StoredItem | undefined> {
  const expression = new Expression();
  const guards = [
    'attribute_exists(PK)',
    ...Object.entries(attributes).map(([name, value]) => expression.holds(name, value)),
  ];
  try {
    const result = await dynamo().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: key,
        ConditionExpression: guards.join(' AND '),
        ReturnValues: 'ALL_OLD',
        ...expression.parameters(),
      }),
    );
    return result.Attributes as StoredItem;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** Deletes this move's copy at `to` if it is still as written (a later write to it is kept). */
async function removeCopy(to: TableKey, copied: Record<string, unknown>, read: StoredItem): Promise<void> {
  if (!(await deleteIfUnchanged(to, copied))) throw changedAtBothKeys(read, to);
}

async function getItem(key: TableKey): Promise<StoredItem | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }),
  );
  return result.Item as StoredItem | undefined;
}

const keyOf = ({ PK, SK }: TableKey): TableKey => ({ PK, SK });

/** Everything but the keys. */
function attributesOf(item: StoredItem): Record<string, unknown> {
  const { PK: _pk, SK: _sk, ...attributes } = item;
  return attributes;
}

const describe = ({ PK, SK }: TableKey) => `${PK} / ${SK}`;

const changedAtBothKeys = (item: TableKey, to: TableKey) =>
  differentAtBothKeys(item, to, 'it was changed at both while being moved; both are kept');

function differentAtBothKeys(item: TableKey, to: TableKey, what: string): UserFacingError {
  return new UserFacingError(
    `${describe(item)} is at its old key and, different, at its new key ${describe(to)}: ${what}. Fix: compare the two items, delete the one that is out of date, then run migrate-store again`,
  );
}

/**
 * A condition's or update's names and values, every name aliased (reserved words are fine). `holds` is the
 * condition that an attribute still has a value: exact for text, numbers, booleans and binary, and the size
 * for lists, maps and sets (dynalite compares those by reference), which a caller verifies on the item.
 */
class Expression {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};

  name(attribute: string): string {
    const existing = Object.entries(this.names).find(([, name]) => name === attribute)?.[0];
    if (existing) return existing;
    const alias = `#n${Object.keys(this.names).length}`;
    this.names[alias] = attribute;
    return alias;
  }

  value(value: unknown): string {
    const alias = `:v${Object.keys(this.values).length}`;
    this.values[alias] = value;
    return alias;
  }

  holds(attribute: string, value: unknown): string {
    const name = this.name(attribute);
    if (value === undefined) return `attribute_not_exists(${name})`;
    if (value === null) return `attribute_type(${name}, ${this.value('NULL')})`;
    if (value instanceof Set) return `size(${name}) = ${this.value(value.size)}`;
    if (Array.isArray(value))
      return `${this.typed(name, 'L')} AND size(${name}) = ${this.value(value.length)}`;
    if (typeof value === 'object' && !(value instanceof Uint8Array))
      return `${this.typed(name, 'M')} AND size(${name}) = ${this.value(Object.keys(value).length)}`;
    return `${name} = ${this.value(value)}`;
  }

  private typed(name: string, type: 'L' | 'M'): string {
    return `attribute_type(${name}, ${this.value(type)})`;
  }

  parameters() {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
