import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

// An in-memory stand-in for the release table, behind the DynamoDB document client mock. It understands
// exactly the expressions release-store.ts writes (SET / ADD / REMOVE, attribute_(not_)exists, comparisons,
// begins_with, AND) and fails loudly on anything else, so a store change cannot pass by accident.

type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

export const dynamoMock = mockClient(DynamoDBDocumentClient);

const items = new Map<string, Item>();
const keyOf = (pk: unknown, sk: unknown) => `${String(pk)}|${String(sk)}`;
const clone = <T>(value: T): T => structuredClone(value);

export function resetTable(): void {
  items.clear();
  itemsRead = 0;
  dynamoMock.reset();
  dynamoMock.on(GetCommand).callsFake((input: GetCommand['input']) => {
    refuseOversizedKey(input.Key);
    const item = items.get(keyOf(input.Key?.PK, input.Key?.SK));
    return { Item: item && clone(item) };
  });
  // Whole items, whatever the projection asks: a reader must not rely on what it left out.
  dynamoMock.on(BatchGetCommand).callsFake((input: BatchGetCommand['input']) => {
    const Responses = Object.fromEntries(
      Object.entries(input.RequestItems ?? {}).map(([table, request]) => [
        table,
        (request.Keys ?? []).flatMap((key) => {
          refuseOversizedKey(key);
          const item = items.get(keyOf(key.PK, key.SK));
          return item ? [clone(item)] : [];
        }),
      ]),
    );
    return { Responses };
  });
  dynamoMock.on(PutCommand).callsFake((input: PutCommand['input']) => {
    const item = input.Item ?? {};
    const key = keyOf(item.PK, item.SK);
    assertCondition(items.get(key), input.ConditionExpression, input.ExpressionAttributeNames, undefined);
    items.set(key, clone(item));
    return {};
  });
  dynamoMock.on(UpdateCommand).callsFake(updateItem);
  dynamoMock.on(BatchWriteCommand).callsFake((input: BatchWriteCommand['input']) => {
    for (const requests of Object.values(input.RequestItems ?? {})) {
      for (const { PutRequest } of requests) {
        if (!PutRequest?.Item) throw new Error('The fake table writes PutRequests only');
        items.set(keyOf(PutRequest.Item.PK, PutRequest.Item.SK), clone(PutRequest.Item));
      }
    }
    return { UnprocessedItems: {} };
  });
  dynamoMock.on(DeleteCommand).callsFake((input: DeleteCommand['input']) => {
    const key = keyOf(input.Key?.PK, input.Key?.SK);
    assertCondition(
      items.get(key),
      input.ConditionExpression,
      input.ExpressionAttributeNames,
      input.ExpressionAttributeValues,
    );
    items.delete(key);
    return {};
  });
  dynamoMock.on(QueryCommand).callsFake((input: QueryCommand['input']) => {
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    const after = input.ExclusiveStartKey?.SK;
    const inKey = [...items.values()]
      .filter((item) => matches(item, input.KeyConditionExpression, names, values))
      .sort((a, b) => String(a.SK).localeCompare(String(b.SK)))
      .filter((item) => after === undefined || String(item.SK).localeCompare(String(after)) > 0);
    // Like DynamoDB: Limit bounds the items read, before the filter, and the page says where it stopped.
    const read = input.Limit === undefined ? inKey : inKey.slice(0, input.Limit);
    itemsRead += read.length;
    const last = read.at(-1);
    return {
      Items: clone(read.filter((item) => matches(item, input.FilterExpression, names, values))),
      LastEvaluatedKey: read.length < inKey.length && last ? { PK: last.PK, SK: last.SK } : undefined,
    };
  });
}

let itemsRead = 0;

/** Like DynamoDB, which refuses a partition key over 2,048 bytes and a sort key over 1,024. */
function refuseOversizedKey(key: Item | undefined): void {
  if (Buffer.byteLength(String(key?.PK ?? '')) > 2048 || Buffer.byteLength(String(key?.SK ?? '')) > 1024) {
    throw new Error('ValidationException: One or more parameter values were invalid: key too large');
  }
}

/** How many items queries have read (before their filters) since the table was reset. */
export function itemsReadByQueries(): number {
  return itemsRead;
}

/** Applies an UpdateCommand to the fake table (exported so a test can restore it after injecting a fault). */
export function updateItem(input: UpdateCommand['input']) {
  const key = keyOf(input.Key?.PK, input.Key?.SK);
  const existing = items.get(key);
  assertCondition(
    existing,
    input.ConditionExpression,
    input.ExpressionAttributeNames,
    input.ExpressionAttributeValues,
  );
  const updated = applyUpdate(
    { ...clone(existing ?? {}), ...input.Key },
    input.UpdateExpression ?? '',
    input.ExpressionAttributeNames,
    input.ExpressionAttributeValues,
  );
  items.set(key, updated);
  return input.ReturnValues === 'ALL_NEW' ? { Attributes: clone(updated) } : {};
}

/** Writes an item as it would be after earlier tasks ran. */
export function putItem(item: Item & { PK: string; SK: string }): void {
  items.set(keyOf(item.PK, item.SK), clone(item));
}

export function getItem(pk: string, sk: string): Item | undefined {
  const item = items.get(keyOf(pk, sk));
  return item && clone(item);
}

/** The whole table, for "the second run changed nothing" comparisons. */
export function snapshotTable(): Item[] {
  return clone([...items.values()]);
}

function assertCondition(
  item: Item | undefined,
  condition: string | undefined,
  names: Names,
  values: Values,
) {
  if (!matches(item ?? {}, condition, names, values)) {
    throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  }
}

function matches(item: Item, expression: string | undefined, names: Names, values: Values): boolean {
  if (!expression) return true;
  const withoutBetween = expression.replace(/(\S+) BETWEEN (\S+) AND (\S+)/g, '$1 >= $2 AND $1 <= $3');
  return withoutBetween.split(' AND ').every((term) => evaluate(item, term.trim(), names, values));
}

function evaluate(item: Item, term: string, names: Names, values: Values): boolean {
  const negated = /^NOT (.+)$/.exec(term);
  if (negated?.[1]) return !evaluate(item, negated[1], names, values);
  const alternatives = /^\((.+ OR .+)\)$/.exec(term);
  if (alternatives?.[1])
    return alternatives[1].split(' OR ').some((each) => evaluate(item, each.trim(), names, values));
  const contains = /^contains\((\S+), (\S+)\)$/.exec(term);
  if (contains?.[1] && contains[2]) {
    const collection = item[attributeName(contains[1], names)];
    const wanted = operand(item, contains[2], names, values);
    if (collection instanceof Set || Array.isArray(collection)) return [...collection].includes(wanted);
    return typeof collection === 'string' && collection.includes(String(wanted));
  }
  const membership = /^(\S+) IN \((.+)\)$/.exec(term);
  if (membership?.[1] && membership[2]) {
    const value = operand(item, membership[1], names, values);
    return membership[2]
      .split(',')
      .some((candidate) => operand(item, candidate.trim(), names, values) === value);
  }
  const size = /^size\((\S+)\) = (\S+)$/.exec(term);
  if (size?.[1] && size[2]) {
    const value = item[attributeName(size[1], names)];
    const length = value instanceof Set ? value.size : Array.isArray(value) ? value.length : undefined;
    return length === operand(item, size[2], names, values);
  }
  const func = /^(attribute_exists|attribute_not_exists)\((\S+)\)$/.exec(term);
  if (func?.[1] && func[2]) {
    const present = item[attributeName(func[2], names)] !== undefined;
    return func[1] === 'attribute_exists' ? present : !present;
  }
  const prefix = /^begins_with\((\S+), (\S+)\)$/.exec(term);
  if (prefix?.[1] && prefix[2]) {
    const value = item[attributeName(prefix[1], names)];
    return typeof value === 'string' && value.startsWith(String(operand(item, prefix[2], names, values)));
  }
  const comparison = /^(\S+) (=|<=|>=|<|>) (\S+)$/.exec(term);
  if (comparison?.[1] && comparison[2] && comparison[3]) {
    const left = operand(item, comparison[1], names, values) as string | number | undefined;
    const right = operand(item, comparison[3], names, values) as string | number | undefined;
    if (left === undefined || right === undefined) return false;
    if (comparison[2] === '=') return left === right;
    if (comparison[2] === '<') return left < right;
    if (comparison[2] === '>') return left > right;
    return comparison[2] === '<=' ? left <= right : left >= right;
  }
  throw new Error(`The fake table does not understand the condition "${term}"`);
}

function operand(item: Item, token: string, names: Names, values: Values): unknown {
  if (token.startsWith(':')) return placeholder(token, values);
  return item[attributeName(token, names)];
}

// The document client drops undefined values (removeUndefinedValues), so DynamoDB then refuses the
// expression that still names the placeholder.
function placeholder(token: string, values: Values): unknown {
  const value = values?.[token];
  if (value === undefined) {
    const error = new Error(
      `Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: ${token}`,
    );
    error.name = 'ValidationException';
    throw error;
  }
  return value;
}

function attributeName(token: string, names: Names): string {
  if (!token.startsWith('#')) return token;
  const name = names?.[token];
  if (!name) throw new Error(`No ExpressionAttributeNames entry for ${token}`);
  return name;
}

function applyUpdate(item: Item, expression: string, names: Names, values: Values): Item {
  for (const [, action, body] of expression.matchAll(/(SET|ADD|REMOVE) (.+?)(?= (?:SET|ADD|REMOVE) |$)/g)) {
    for (const clause of splitClauses(body ?? '')) {
      const appended = /^(\S+) = list_append\((?:if_not_exists\((\S+), (\S+)\)|(\S+)), (\S+)\)$/.exec(clause);
      if (action === 'SET' && appended?.[1] && appended[5]) {
        const name = attributeName(appended[1], names);
        const current =
          (item[name] as unknown[] | undefined) ??
          (appended[3] ? (placeholder(appended[3], values) as unknown[]) : undefined);
        if (!Array.isArray(current)) throw new Error(`list_append on missing list ${name}`);
        item[name] = [...current, ...clone(placeholder(appended[5], values) as unknown[])];
        continue;
      }
      const kept = /^(\S+) = if_not_exists\((\S+), (\S+)\)$/.exec(clause);
      if (action === 'SET' && kept?.[1] && kept[2] && kept[3]) {
        const name = attributeName(kept[1], names);
        const current = item[attributeName(kept[2], names)];
        item[name] = current === undefined ? clone(placeholder(kept[3], values)) : current;
        continue;
      }
      if (action === 'REMOVE') {
        delete item[attributeName(clause, names)];
        continue;
      }
      const [target, value] =
        action === 'SET' ? clause.split(/\s*=\s*/) : (clause.split(/\s+/) as [string, string]);
      if (!target || !value) throw new Error(`The fake table does not understand "${action} ${clause}"`);
      const name = attributeName(target, names);
      const given = placeholder(value, values);
      if (action === 'ADD' && given instanceof Set) {
        item[name] = new Set([...((item[name] as Set<unknown> | undefined) ?? []), ...given]);
        continue;
      }
      item[name] = action === 'SET' ? clone(given) : Number(item[name] ?? 0) + Number(given);
    }
  }
  return item;
}

/** Splits `a = :a, b = list_append(b, :c)` at the commas outside parentheses. */
function splitClauses(body: string): string[] {
  const clauses: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of body) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      clauses.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim()) clauses.push(current.trim());
  return clauses;
}
