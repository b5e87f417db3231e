import { describe, expect, it } from 'vitest';
import {
  CHECKLIST_ITEM_IDS,
  CHECKLIST_ITEMS,
  CHECKLIST_SECTIONS,
  type ChecklistTicks,
  checklistSections,
  evidenceProblem,
  isChecklistComplete,
  openItems,
  unknownItemMessage,
} from '../../lambdas/core/checklist.js';

const tick = { by: 'dana', at: '2027-02-28T10:00:00Z' };

describe('the pre-release checklist', () => {
  it('has the workflow document’s three sections with their 22 items, in its order and wording', () => {
    expect(CHECKLIST_SECTIONS.map((section) => [section.title, section.items.length])).toEqual([
      ['Development Phase', 9],
      ['Testing Phase', 7],
      ['Release Preparation', 6],
    ]);
    expect(CHECKLIST_ITEMS).toHaveLength(22);
    expect(CHECKLIST_ITEMS[0]).toEqual({
      id: 'backward-compatible',
      text: 'All new features backward compatible',
      section: 'development',
    });
    expect(CHECKLIST_ITEMS.map((item) => item.text)).toContain('Unit tests pass (100%)');
    expect(CHECKLIST_ITEMS.at(-1)?.text).toBe('Emergency contact list updated');
  });

  it('gives every item a distinct kebab-case id', () => {
    expect(new Set(CHECKLIST_ITEM_IDS).size).toBe(22);
    for (const id of CHECKLIST_ITEM_IDS) expect(id).toMatch(/^[a-z]+(-[a-z]+)*$/);
    expect(CHECKLIST_ITEM_IDS).toContain('migrations-reversible');
  });

  it('keeps every item open until it is ticked, in the document’s order', () => {
    const ticks: ChecklistTicks = { 'backward-compatible': tick, 'emergency-contacts-updated': tick };

    const open = openItems(ticks).map((item) => item.id);

    expect(open).toHaveLength(20);
    expect(open[0]).toBe('migrations-reversible');
    expect(open).not.toContain('emergency-contacts-updated');
    expect(isChecklistComplete(ticks)).toBe(false);
  });

  it('is complete once all 22 items are ticked', () => {
    const ticks = Object.fromEntries(CHECKLIST_ITEM_IDS.map((id) => [id, tick])) as ChecklistTicks;

    expect(openItems(ticks)).toEqual([]);
    expect(isChecklistComplete(ticks)).toBe(true);
  });

  it('shows each item with its tick, or null while it is open', () => {
    const sections = checklistSections({ 'code-review-completed': { ...tick, evidence: 'https://ci/1' } });

    const development = sections[0]?.items ?? [];
    expect(development.find((item) => item.id === 'code-review-completed')?.tick).toEqual({
      ...tick,
      evidence: 'https://ci/1',
    });
    expect(development.find((item) => item.id === 'backward-compatible')?.tick).toBeNull();
  });

  it('answers a mistyped item with every valid id, by section', () => {
    const message = unknownItemMessage('backwards-compatible');

    expect(message).toContain("unknown checklist item 'backwards-compatible'");
    for (const id of CHECKLIST_ITEM_IDS) expect(message).toContain(id);
    expect(message).toContain('Release Preparation:');
  });

  it('takes http(s) links as evidence, without credentials', () => {
    expect(evidenceProblem('https://ci.example.com/runs/123')).toBeUndefined();
    expect(evidenceProblem('run 123')).toMatch(/not a URL/);
    expect(evidenceProblem('ftp://files.example.com/report')).toMatch(/http\(s\)/);
    expect(evidenceProblem('https://dana:secret@ci.example.com/runs/1')).toMatch(/user name or password/);
  });
});
