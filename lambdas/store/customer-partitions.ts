import { queryAll, releaseKey } from './table.js';

// A release's per-customer items (its plan entry and lifecycle, its step memberships, a rollout parked by a
// halt, its health reports while rolling back) are spread over CUSTOMER_PARTITIONS partition keys,
// RELEASE#<v>#CUSTOMERS#<n>, n a hash of the customer's id: so planning 100,000 customers, parking every
// rollout of a halt or deploying 9,000 customers at one instant never writes to a single partition (about
// 1,000 writes a second on DynamoDB). A customer's items all sit in its one partition, found from its id
// alone; a listing reads every partition.

/** How many partition keys a release's customers are spread over. */
export const CUSTOMER_PARTITIONS = 16;

/** FNV-1a of a customer id: the same wherever and however often it is hashed. */
export function hashOfCustomerId(customerId: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < customerId.length; index += 1) {
    hash ^= customerId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export const customerPartitionOf = (customerId: string): number =>
  hashOfCustomerId(customerId) % CUSTOMER_PARTITIONS;

export const customerPartitionKey = (release: string, partition: number) =>
  `${releaseKey(release)}#CUSTOMERS#${partition}`;

/** The partition key of a customer's items in the release. */
export const customerPartition = (release: string, customerId: string) =>
  customerPartitionKey(release, customerPartitionOf(customerId));

/** Every partition key of the release's customers, in partition order. */
export const customerPartitions = (release: string): string[] =>
  everyPartition((partition) => customerPartitionKey(release, partition));

/** The key of each of the CUSTOMER_PARTITIONS partitions, in partition order. */
export const everyPartition = (keyOf: (partition: number) => string): string[] =>
  Array.from({ length: CUSTOMER_PARTITIONS }, (_, partition) => keyOf(partition));

/**
 * What `query` finds in the release's customer partitions (`:partition` is the partition key), merged in
 * sort-key order: the order one partition would list them in (a projection gets `SK` added to merge by).
 */
export function queryEveryPartition(
  release: string,
  query: PartitionQuery,
): AsyncGenerator<Record<string, unknown>> {
  return queryPartitions(customerPartitions(release), query);
}

/** What `query` finds in each of `partitionKeys` (`:partition`), merged in sort-key order. */
export async function* queryPartitions(
  partitionKeys: string[],
  query: PartitionQuery,
): AsyncGenerator<Record<string, unknown>> {
  const projected = query.ProjectionExpression
    ? {
        ProjectionExpression: `${query.ProjectionExpression}, #mergedBy`,
        ExpressionAttributeNames: { ...query.ExpressionAttributeNames, '#mergedBy': 'SK' },
      }
    : {};
  const partitions = partitionKeys.map((partitionKey) =>
    queryAll({
      ...query,
      ...projected,
      ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':partition': partitionKey },
    }),
  );
  // The next item of each partition; the smallest sort key goes first.
  const next = await Promise.all(partitions.map((partition) => partition.next()));
  for (;;) {
    let first: number | undefined;
    for (const [index, head] of next.entries())
      if (!head.done && (first === undefined || sortKeyOf(head.value) < sortKeyOf(next[first]?.value)))
        first = index;
    const partition = first === undefined ? undefined : partitions[first];
    if (first === undefined || !partition) return;
    yield (next[first] as IteratorYieldResult<Record<string, unknown>>).value;
    next[first] = await partition.next();
  }
}

const sortKeyOf = (item: Record<string, unknown> | undefined): string => String(item?.SK);

type PartitionQuery = Omit<Parameters<typeof queryAll>[0], 'ExpressionAttributeValues'> & {
  ExpressionAttributeValues: Record<string, unknown>;
};
