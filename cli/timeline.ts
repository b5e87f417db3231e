import { DateTime } from 'luxon';
import { formatLocalTime } from '../lambdas/core/maintenance-window.js';
import type {
  DeploymentPolicies,
  PlannedBatch,
  PlannedCustomer,
  PlannedPhase,
  ReleasePlan,
} from '../lambdas/core/model.js';

const GUTTER = 11;
const LINE_WIDTH = 110;

function utc(iso: string): DateTime {
  return DateTime.fromISO(iso, { zone: 'utc' });
}

function date(iso: string): string {
  return utc(iso).toFormat('yyyy-MM-dd');
}

function dateTime(iso: string): string {
  return `${utc(iso).setLocale('en-US').toFormat('ccc yyyy-MM-dd HH:mm')} UTC`;
}

function dayOf(plan: ReleasePlan, iso: string): number {
  return Math.round(utc(iso).diff(utc(plan.startAt), 'days').days);
}

function dayRange(plan: ReleasePlan, phase: PlannedPhase): string {
  const first = dayOf(plan, phase.startAt);
  const last = dayOf(plan, phase.endAt) - 1;
  return last > first ? `Day ${first}-${last}` : `Day ${first}`;
}

function row(label: string, text: string): string {
  return `${label.padEnd(GUTTER)}│ ${text}`.trimEnd();
}

/** Comma-joined names, wrapped under the gutter. */
function wrappedNames(names: string[], indent: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const name of names) {
    const next = current ? `${current}, ${name}` : name;
    if (current && indent.length + next.length > LINE_WIDTH) {
      lines.push(`${current},`);
      current = name;
    } else {
      current = next;
    }
  }
  if (current) lines.push(current);
  return lines.map((line) => `${indent}${line}`);
}

function noticeText(customers: PlannedCustomer[]): string {
  const notices = [...new Set(customers.map((customer) => customer.noticeAt))];
  if (notices.length === 0) return 'no customers';
  if (notices.every((notice) => notice === null)) return 'no advance notice';
  return `notice ${notices.map((notice) => (notice ? dateTime(notice) : 'none')).join(', ')}`;
}

function customerName(customer: PlannedCustomer): string {
  return customer.deployAt ? customer.name : `${customer.name} (unschedulable)`;
}

/** When a batch's deployments start: one instant, or from the first to the last (staggered in windows). */
function deploymentsText(customers: PlannedCustomer[]): string[] {
  const instants = customers.flatMap((customer) => customer.deployAt ?? []).sort();
  const [first] = instants;
  const last = instants.at(-1);
  if (!first || !last) return [];
  if (first === last) return [`deploys ${dateTime(first)}`];
  return [
    `deploys from ${dateTime(first)} to ${dateTime(last)}, ${new Set(instants).size} distinct instants`,
  ];
}

function batchLines(batch: PlannedBatch, batchCount: number, customers: PlannedCustomer[]): string[] {
  const heading = `├── Batch ${batch.index} of ${batchCount} · opens ${dateTime(batch.deployAt)} · ${noticeText(customers)}`;
  const names = customers.length > 0 ? customers.map(customerName) : ['(no customers)'];
  const indent = `${' '.repeat(GUTTER)}│ │   `;
  return [
    row('', heading),
    ...deploymentsText(customers).map((text) => `${indent}${text}`),
    ...wrappedNames(names, indent),
  ];
}

function individualLines(batch: PlannedBatch, customer: PlannedCustomer): string[] {
  const approval = customer.approvalRequired ? ' · approval required' : '';
  const window = customer.deployAt
    ? `window ${formatLocalTime(customer.deployAt, customer.timeZone)}`
    : `unschedulable: ${customer.unschedulableReason ?? 'no window before the deadline'}`;
  const notice = customer.noticeAt ? `notice ${date(customer.noticeAt)}` : 'no advance notice';
  return [
    row('', `├── ${customer.name}${approval}`),
    row('', `│   ${notice} · opens ${date(batch.deployAt)} · ${window}`),
  ];
}

function phaseLines(
  plan: ReleasePlan,
  phase: PlannedPhase,
  policies: DeploymentPolicies,
  customersById: Map<string, PlannedCustomer>,
): string[] {
  const lines = [
    row(
      dayRange(plan, phase),
      `${phase.displayName.padEnd(22)} ${date(phase.startAt)} → ${date(phase.endAt)}`,
    ),
  ];
  const oneByOne = policies[phase.policy].batchSize.mode === 'individual';
  for (const batch of phase.batches) {
    const customers = batch.customers.flatMap((id) => customersById.get(id) ?? []);
    const [only] = customers;
    lines.push(
      ...(oneByOne && only
        ? individualLines(batch, only)
        : batchLines(batch, phase.batches.length, customers)),
    );
  }
  if (phase.batches.length === 0) lines.push(row('', '└── no customers on this policy'));
  lines.push(row('', ''));
  return lines;
}

function summaryLines(plan: ReleasePlan, customersById: Map<string, PlannedCustomer>): string[] {
  const named = ({ id, reason }: { id: string; reason: string }) =>
    `  - ${customersById.get(id)?.name ?? id} (${id}): ${reason}`;
  const late = plan.late.length
    ? [
        `${plan.late.length} of ${plan.customers.length} customers deploy after their phase ends, before their policy deadline:`,
        ...plan.late.map(named),
      ]
    : [];
  if (plan.unschedulable.length === 0) return [`All ${plan.customers.length} customers scheduled`, ...late];
  return [
    `${plan.unschedulable.length} of ${plan.customers.length} customers cannot be scheduled before their policy deadline:`,
    ...plan.unschedulable.map(named),
    ...late,
  ];
}

// Enterprise deployments wait for a weekly window, so the last one can fall after the last phase ends.
function lastDeploymentText(plan: ReleasePlan): string {
  const deployments = plan.customers.flatMap((customer) => customer.deployAt ?? []).sort();
  const last = deployments.at(-1);
  return last ? ` · last deployment ${dateTime(last)}` : '';
}

/** The plan as the workflow document's timeline: phases by day with dates, batches, notices and windows. */
export function renderTimeline(plan: ReleasePlan, policies: DeploymentPolicies): string {
  const customersById = new Map(plan.customers.map((customer) => [customer.id, customer]));
  const endDay = dayOf(plan, plan.endAt);
  const lines = [
    `SecureWatch ${plan.version} · minor release plan`,
    `Starts ${dateTime(plan.startAt)} · ends ${dateTime(plan.endAt)} (day ${endDay}) · ${plan.customers.length} customers`,
    '',
    ...plan.phases.flatMap((phase) => phaseLines(plan, phase, policies, customersById)),
    row(`Day ${endDay}+`, `✅ Release complete${lastDeploymentText(plan)}`),
    '',
    ...summaryLines(plan, customersById),
  ];
  return `${lines.join('\n')}\n`;
}
