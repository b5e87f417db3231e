import { describe, expect, it } from 'vitest';
import { boundedChunksOf, chunkNumbers, rolloutChunksOf } from '../../lambdas/core/plan-chunks.js';

const ids = (count: number) =>
  Array.from({ length: count }, (_, index) => `c-${String(index).padStart(5, '0')}`);

describe('plan chunks', () => {
  it('cuts 10,000 customers into 10 chunks of 1,000, in order, when each fits', () => {
    const chunks = boundedChunksOf(ids(10_000), 1_000, () => 1, 300);

    expect(chunks).toHaveLength(10);
    expect(chunks.flat()).toEqual(ids(10_000));
  });

  it('halves a chunk whose bytes pass the limit until each fits, keeping the order', () => {
    const chunks = boundedChunksOf(ids(1_000), 1_000, (chunk) => chunk.length, 300);

    expect(chunks.map((chunk) => chunk.length)).toEqual([250, 250, 250, 250]);
    expect(chunks.flat()).toEqual(ids(1_000));
  });

  it('keeps a single customer over the limit as a chunk of its own rather than looping', () => {
    expect(boundedChunksOf(['huge'], 1_000, () => 1e9, 300)).toEqual([['huge']]);
  });

  it('numbers the chunks a Map runs, from the first left', () => {
    expect(chunkNumbers(4)).toEqual([0, 1, 2, 3]);
    expect(chunkNumbers(4, 1)).toEqual([1, 2, 3]);
    expect(chunkNumbers(1, 1)).toEqual([]);
  });
});

describe('rollout chunks of a step', () => {
  it('bounds 10,000 members in chunks of 500 by their first and last id, in the order the store lists them', () => {
    const shuffled = ids(10_000).reverse();

    const chunks = rolloutChunksOf(shuffled);

    expect(chunks).toHaveLength(20);
    expect(chunks[0]).toEqual({ first: 'c-00000', last: 'c-00499' });
    expect(chunks[19]).toEqual({ first: 'c-09500', last: 'c-09999' });
  });

  it('has no chunk for a step without members', () => {
    expect(rolloutChunksOf([])).toEqual([]);
  });
});
