import {
  CHECKLIST_ITEMS,
  type ChecklistItem,
  type ChecklistTick,
  checklistSections,
  evidenceProblem,
  isChecklistItemId,
  openItems,
  unknownItemMessage,
} from '../core/checklist.js';
import { UsageError } from '../core/errors.js';
import { parseVersion } from '../core/versions.js';
import { now } from '../shared/clock.js';
import {
  type ChecklistOverride,
  getChecklist,
  putOverrideIfAbsent,
  putTickIfAbsent,
} from '../store/checklists.js';

// The pre-release checklist of a release: shown, ticked one item at a time (or all at once by the local
// rehearsal), and what of it still blocks the start of the release.

/**
 * `checklist --version V --json`:
 * { version, complete, ticked, total, open: [itemId], sections: [{ id, title, items: [{ id, text,
 *   tick: { by, at, evidence? } | null }] }], override?: { by, reason, at, openItems: [itemId] } }
 */
export interface ChecklistStatus {
  version: string;
  complete: boolean;
  ticked: number;
  total: number;
  open: string[];
  sections: ReturnType<typeof checklistSections>;
  override?: ChecklistOverride;
}

/**
 * `checklist --tick ITEM --json`: { version, item, text, changed, tick: { by, at, evidence? }, open: [itemId],
 * message }. `changed` is false when the item was ticked already (`tick` is then the first tick).
 */
export interface TickResult {
  version: string;
  item: string;
  text: string;
  changed: boolean;
  tick: ChecklistTick;
  open: string[];
  message: string;
}

export async function checklistOf(version: string): Promise<ChecklistStatus> {
  parseVersion(version);
  const stored = await getChecklist(version);
  const open = openItems(stored.ticks).map((item) => item.id);
  return {
    version,
    complete: open.length === 0,
    ticked: CHECKLIST_ITEMS.length - open.length,
    total: CHECKLIST_ITEMS.length,
    open,
    sections: checklistSections(stored.ticks),
    ...(stored.override ? { override: stored.override } : {}),
  };
}

export async function tickChecklistItem(
  version: string,
  item: string,
  by: string,
  evidence?: string,
): Promise<TickResult> {
  parseVersion(version);
  if (!isChecklistItemId(item)) throw new UsageError(unknownItemMessage(item));
  if (!by.trim())
    throw new UsageError('a tick needs to know who checked the item. Fix: pass --by "your name"');
  const problem = evidence === undefined ? undefined : evidenceProblem(evidence);
  if (problem) throw new UsageError(problem);
  const text = CHECKLIST_ITEMS.find((each) => each.id === item)?.text ?? item;
  const tick: ChecklistTick = { by, at: now(), ...(evidence ? { evidence } : {}) };
  const changed = await putTickIfAbsent(version, item, tick);
  const stored = await getChecklist(version);
  const kept = stored.ticks[item] ?? tick;
  const open = openItems(stored.ticks).map((each) => each.id);
  const left = open.length === 0 ? 'every item is ticked' : `${open.length} item(s) still open`;
  return {
    version,
    item,
    text,
    changed,
    tick: kept,
    open,
    message: changed
      ? `Ticked '${text}' for ${version} (by ${kept.by}); ${left}`
      : `'${text}' was already ticked for ${version} by ${kept.by} at ${kept.at}; nothing changed (${left})`,
  };
}

/** Ticks every open item as `by` (the local rehearsal ticks them as "rehearsal"); returns how many it ticked. */
export async function tickEveryItem(version: string, by: string): Promise<{ ticked: number }> {
  parseVersion(version);
  const stored = await getChecklist(version);
  const at = now();
  const written = await Promise.all(
    openItems(stored.ticks).map((item) => putTickIfAbsent(version, item.id, { by, at })),
  );
  return { ticked: written.filter(Boolean).length };
}

/** The items that keep the release from starting: none once every item is ticked. */
export async function checklistBlockers(version: string): Promise<ChecklistItem[]> {
  return openItems((await getChecklist(version)).ticks);
}

/**
 * Records that an operator starts the release with `open` items still open: who, why, when. The first
 * override stays; returns it (and whether this call recorded it).
 */
export async function overrideChecklist(
  version: string,
  open: readonly ChecklistItem[],
  decision: { by: string; reason: string },
): Promise<{ override: ChecklistOverride; changed: boolean }> {
  if (!decision.reason.trim())
    throw new UsageError(
      'overriding the checklist needs a reason. Fix: add --reason "why the release may start with items open"',
    );
  const override: ChecklistOverride = {
    by: decision.by,
    reason: decision.reason,
    at: now(),
    openItems: open.map((item) => item.id),
  };
  const changed = await putOverrideIfAbsent(version, override);
  if (changed) return { override, changed };
  return { override: (await getChecklist(version)).override ?? override, changed };
}
