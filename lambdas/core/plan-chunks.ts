// How a release's plan is written and its steps' rollouts are started at fleet scale: in chunks, each one
// Lambda invocation of bounded size, run in parallel by an inline Map of the release execution. The Map's
// items are chunk numbers only; what a chunk holds is in the store.

/** Customers one "write plan chunk" invocation writes (a chunk item stays far below DynamoDB's 400 KB). */
export const PLAN_CHUNK_CUSTOMERS = 1_000;

/** A plan chunk's entries, compressed, stay under this (DynamoDB's item limit is 400 KB): a bigger one is split. */
export const PLAN_CHUNK_MAX_BYTES = 300 * 1024;

/** Customer rollouts one "start customer rollouts" invocation starts. */
export const ROLLOUT_CHUNK_CUSTOMERS = 500;

/** Chunks a Map runs at once (an inline Map runs at most 40). */
export const CHUNK_CONCURRENCY = 10;

/** `items` in consecutive chunks of at most `size`. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/**
 * `items` in consecutive chunks of at most `size`, each halved until `bytes` of it is at most `maxBytes`
 * (a single item stays a chunk of its own, whatever its size).
 */
export function boundedChunksOf<T>(
  items: readonly T[],
  size: number,
  bytes: (chunk: T[]) => number,
  maxBytes: number,
): T[][] {
  const bounded: T[][] = [];
  const pending = chunksOf(items, size).reverse();
  for (let chunk = pending.pop(); chunk; chunk = pending.pop()) {
    if (chunk.length > 1 && bytes(chunk) > maxBytes) {
      const half = Math.ceil(chunk.length / 2);
      pending.push(chunk.slice(half), chunk.slice(0, half));
    } else bounded.push(chunk);
  }
  return bounded;
}

/** The numbers of `count` chunks: what a Map iterates over. */
export function chunkNumbers(count: number, from = 0): number[] {
  return Array.from({ length: Math.max(0, count - from) }, (_, index) => from + index);
}

/** A step's rollout chunk: its members with ids from `first` to `last`, both included, in id order. */
export interface RolloutChunk {
  first: string;
  last: string;
}

/** The rollout chunks of a step with members `ids`: consecutive runs, in the order the store lists them. */
export function rolloutChunksOf(ids: readonly string[], size = ROLLOUT_CHUNK_CUSTOMERS): RolloutChunk[] {
  const sorted = [...ids].sort(byStoreOrder);
  return chunksOf(sorted, size).map((chunk) => ({
    first: chunk[0] as string,
    last: chunk[chunk.length - 1] as string,
  }));
}

/** The order of DynamoDB sort keys (UTF-8 bytes): the order of code units for kebab-case (ASCII) ids. */
function byStoreOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
