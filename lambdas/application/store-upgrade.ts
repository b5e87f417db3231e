import {
  countInCustomerPartitions,
  countInFleetPartitions,
  fleetItemsAtOldKeys,
  type MisplacedItem,
  moveItem,
  releaseItemsAtOldKeys,
} from '../store/migrations/customer-partitions.js';
import { listReleases } from '../store/releases.js';

// Upgrading a table the previous version wrote (README "Upgrading the store"): its per-customer items move
// from RELEASE#<v> and FLEET to the customer partitions the current version reads. Run once after the
// deploy, with the releases halted; running it again finds nothing to move.

/** What moved (or, in a dry run, would move) of a release or of the fleet, and what was in place already. */
export interface PartitionMoveCounts {
  /** Items moved from their old key to their customer partition (in a dry run: items still at old keys). */
  moved: number;
  /** Items in the customer partitions that this run did not move (written there, or moved before). */
  alreadyInPlace: number;
}

/** The JSON shape of `migrate-store --json`. */
export interface StoreUpgradeResult {
  /** True when nothing was changed: `moved` counts what would move. */
  dryRun: boolean;
  /** Every release of the registry, in its order. */
  releases: ({ release: string } & PartitionMoveCounts)[];
  fleet: PartitionMoveCounts;
}

/**
 * Moves in flight at once: enough that 200,000 items take minutes, not an hour; few enough that the
 * deletions, which all land on the one old partition (about 1,000 writes a second), are not throttled.
 */
export const MOVES_IN_FLIGHT = 8;

/**
 * Moves every item the previous version wrote at an old key (a release's per-customer items, the fleet's
 * customers) to its customer partition, release after release, then the fleet; with `dryRun`, only counts
 * them. Idempotent: what moved is not found again. An item that cannot be moved is a UserFacingError naming
 * it, after the moves in flight have ended (what moved stays moved; a second run goes on from there).
 */
export async function moveToCustomerPartitions(
  options: { dryRun?: boolean } = {},
): Promise<StoreUpgradeResult> {
  const dryRun = options.dryRun === true;
  const releases: StoreUpgradeResult['releases'] = [];
  for (const release of await listReleases())
    releases.push({
      release,
      ...(await moveAll(releaseItemsAtOldKeys(release), () => countInCustomerPartitions(release), dryRun)),
    });
  const fleet = await moveAll(fleetItemsAtOldKeys(), countInFleetPartitions, dryRun);
  return { dryRun, releases, fleet };
}

async function moveAll(
  misplaced: AsyncIterable<MisplacedItem>,
  countInPlace: () => Promise<number>,
  dryRun: boolean,
): Promise<PartitionMoveCounts> {
  let moved = 0;
  if (dryRun) for await (const _item of misplaced) moved += 1;
  else
    await inPool(misplaced, MOVES_IN_FLIGHT, async ({ item, to }) => {
      if ((await moveItem(item, to)) === 'moved') moved += 1;
    });
  const inPlace = await countInPlace();
  return { moved, alreadyInPlace: dryRun ? inPlace : Math.max(0, inPlace - moved) };
}

/**
 * Runs `work` on each of `items` as they come, at most `limit` at once. The first failure (of a work or of
 * the items) stops taking more; it is thrown once those in flight have ended.
 */
async function inPool<Item>(
  items: AsyncIterable<Item>,
  limit: number,
  work: (item: Item) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for await (const item of items) {
      if (failure) break;
      const task: Promise<void> = work(item)
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => running.delete(task));
      running.add(task);
      if (running.size >= limit) await Promise.race(running);
    }
  } finally {
    // Reading the items may fail too: the moves in flight end first either way.
    await Promise.all(running);
  }
  if (failure) throw failure.error;
}
