// The workflow document's Pre-Release Checklist: three sections, 22 items, each with a stable id the
// `checklist --tick ITEM` command takes. A release's demo phase starts only once every item is ticked
// (or an operator overrides it, with a reason).

export const CHECKLIST_SECTIONS = [
  {
    id: 'development',
    title: 'Development Phase',
    items: [
      { id: 'backward-compatible', text: 'All new features backward compatible' },
      { id: 'migrations-reversible', text: 'Database migrations are reversible' },
      { id: 'api-compatible', text: 'API endpoints maintain compatibility' },
      { id: 'config-additive', text: 'Configuration changes are additive only' },
      { id: 'unit-tests-pass', text: 'Unit tests pass (100%)' },
      { id: 'integration-tests-pass', text: 'Integration tests pass (100%)' },
      { id: 'performance-tests-baseline', text: 'Performance tests within baseline' },
      { id: 'security-scans-clean', text: 'Security scans clean' },
      { id: 'code-review-completed', text: 'Code review completed' },
    ],
  },
  {
    id: 'testing',
    title: 'Testing Phase',
    items: [
      { id: 'staging-deployed', text: 'Staging environment deployed' },
      { id: 'regression-testing-completed', text: 'Full regression testing completed' },
      { id: 'performance-benchmarks-verified', text: 'Performance benchmarks verified' },
      { id: 'security-testing-completed', text: 'Security testing completed' },
      { id: 'migration-scripts-tested', text: 'Migration scripts tested' },
      { id: 'rollback-procedures-verified', text: 'Rollback procedures verified' },
      { id: 'documentation-updated', text: 'Documentation updated' },
    ],
  },
  {
    id: 'release-preparation',
    title: 'Release Preparation',
    items: [
      { id: 'release-notes-drafted', text: 'Release notes drafted' },
      { id: 'communication-templates-prepared', text: 'Customer communication templates prepared' },
      { id: 'support-training-completed', text: 'Support team training completed' },
      { id: 'monitoring-alerts-configured', text: 'Monitoring alerts configured' },
      { id: 'rollback-procedures-documented', text: 'Rollback procedures documented' },
      { id: 'emergency-contacts-updated', text: 'Emergency contact list updated' },
    ],
  },
] as const;

export type ChecklistSectionId = (typeof CHECKLIST_SECTIONS)[number]['id'];
export type ChecklistItemId = (typeof CHECKLIST_SECTIONS)[number]['items'][number]['id'];

export interface ChecklistItem {
  id: ChecklistItemId;
  text: string;
  section: ChecklistSectionId;
}

export const CHECKLIST_ITEMS: readonly ChecklistItem[] = CHECKLIST_SECTIONS.flatMap((section) =>
  section.items.map((item) => ({ id: item.id, text: item.text, section: section.id })),
);

export const CHECKLIST_ITEM_IDS: readonly ChecklistItemId[] = CHECKLIST_ITEMS.map((item) => item.id);

/** Who ticked an item, when, and where the proof is. */
export interface ChecklistTick {
  by: string;
  at: string;
  evidence?: string;
}

export type ChecklistTicks = Partial<Record<ChecklistItemId, ChecklistTick>>;

export function isChecklistItemId(id: string): id is ChecklistItemId {
  return (CHECKLIST_ITEM_IDS as readonly string[]).includes(id);
}

/** The items not ticked yet, in the document's order. */
export function openItems(ticks: ChecklistTicks): ChecklistItem[] {
  return CHECKLIST_ITEMS.filter((item) => !ticks[item.id]);
}

export function isChecklistComplete(ticks: ChecklistTicks): boolean {
  return openItems(ticks).length === 0;
}

/** The sections with each item's tick (null while open), as `checklist --version V` shows them. */
export function checklistSections(ticks: ChecklistTicks) {
  return CHECKLIST_SECTIONS.map((section) => ({
    id: section.id,
    title: section.title,
    items: section.items.map((item) => ({ id: item.id, text: item.text, tick: ticks[item.id] ?? null })),
  }));
}

/** "unknown checklist item 'x'; the items are: …", for a mistyped id. */
export function unknownItemMessage(id: string): string {
  const lines = CHECKLIST_SECTIONS.map(
    (section) => `  ${section.title}: ${section.items.map((item) => item.id).join(', ')}`,
  );
  return `unknown checklist item '${id}'. Fix: use one of these ids:\n${lines.join('\n')}`;
}

/** An evidence link must be an http(s) URL without credentials (it is shown to everyone reading the checklist). */
export function evidenceProblem(evidence: string): string | undefined {
  let url: URL;
  try {
    url = new URL(evidence);
  } catch {
    return `--evidence '${evidence}' is not a URL. Fix: give a link like https://ci.example.com/runs/123`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `--evidence must be an http(s) link, got '${url.protocol}'. Fix: give a link like https://ci.example.com/runs/123`;
  if (url.username || url.password)
    return '--evidence must not carry a user name or password. Fix: link to the page without credentials';
  return undefined;
}
