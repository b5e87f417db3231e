import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
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
  dynamoMock.reset();
  dynamoMock.on(GetCommand).callsFake((input: GetCommand['input']) => {
    const item = items.get(keyOf(input.Key?.PK, input.Key?.SK));
    return { Item: item && clone(item) };
  });
  dynamoMock.on(PutCommand).callsFake((input: PutCommand['input']) => {
    const item = input.Item ?? {};
    const key = keyOf(item.PK, item.SK);
    assertCondition(items.get(key), input.ConditionExpression, input.ExpressionAttributeNames, undefined);
    items.set(key, clone(item));
    return {};
  });
  dynamoMock.on(UpdateCommand).callsFake(updateItem);
  dynamoMock.on(QueryCommand).callsFake((input: QueryCommand['input']) => {
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    const found = [...items.values()]
      .filter((item) => matches(item, input.KeyConditionExpression, names, values))
      .filter((item) => matches(item, input.FilterExpression, names, values))
      .sort((a, b) => String(a.SK).localeCompare(String(b.SK)));
    return { Items: clone(found) };
  });
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
  return expression.split(' AND ').every((term) => evaluate(item, term.trim(), names, values));
}

function evaluate(item: Item, term: string, names: Names, values: Values): boolean {
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
  const comparison = /^(\S+) (=|<=|>=) (\S+)$/.exec(term);
  if (comparison?.[1] && comparison[2] && comparison[3]) {
    const left = operand(item, comparison[1], names, values) as string | number | undefined;
    const right = operand(item, comparison[3], names, values) as string | number | undefined;
    if (left === undefined || right === undefined) return false;
    if (comparison[2] === '=') return left === right;
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
    for (const clause of (body ?? '').split(',').map((part) => part.trim())) {
      if (action === 'REMOVE') {
        delete item[attributeName(clause, names)];
        continue;
      }
      const [target, value] =
        action === 'SET' ? clause.split(/\s*=\s*/) : (clause.split(/\s+/) as [string, string]);
      if (!target || !value) throw new Error(`The fake table does not understand "${action} ${clause}"`);
      const name = attributeName(target, names);
      const given = placeholder(value, values);
      item[name] = action === 'SET' ? clone(given) : Number(item[name] ?? 0) + Number(given);
    }
  }
  return item;
}
