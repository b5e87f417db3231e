import { combineHealth, type StepHealth } from '../../../lambdas/core/gates.js';
import type { CustomerState, HistoryEntry } from '../../../lambdas/core/lifecycle.js';
import type { ApprovalRecord } from '../../../lambdas/store/approvals.js';
import { EMAIL_COUNTER_SHARDS } from '../../../lambdas/store/audit.js';
import { customerPartition } from '../../../lambdas/store/customer-partitions.js';
import type { CustomerRecord } from '../../../lambdas/store/customers.js';
import type { ReleaseRecord } from '../../../lambdas/store/releases.js';
import { STEP_COUNTER_SHARDS, type StepRecord } from '../../../lambdas/store/steps.js';
import { getItem, putItem, snapshotTable } from './fake-table.js';

// The table as earlier tasks of a release would have left it, written in the store's own layout.

export const RELEASE = 'v1.1.0';
const releaseKey = `RELEASE#${RELEASE}`;

/** A standard customer in batch 2, notified on day 4 and deployed in its Berlin night window on day 12. */
export function aStandardCustomer(overrides: Partial<CustomerRecord> = {}): CustomerRecord {
  return {
    id: 'northwind-logistics',
    name: 'Northwind Logistics',
    policy: 'standard',
    phase: 'standard',
    batch: 2,
    stepKey: 'standard_2',
    noticeAt: '2027-03-05T09:00:00Z',
    deployAt: '2027-03-13T01:00:00Z',
    approvalRequired: false,
    deadlineAt: '2027-04-01T09:00:00Z',
    timeZone: 'Europe/Berlin',
    window: { timeZone: 'Europe/Berlin', days: ['sat', 'sun'], start: '02:00', durationMinutes: 240 },
    contacts: [
      { name: 'Ops Team', email: 'ops@northwind.example.com' },
      { name: 'Dana Fischer', email: 'dana.fischer@northwind.example.com' },
    ],
    approvers: [],
    state: 'noticed',
    history: [
      { state: 'planned', at: '2027-03-01T09:00:00Z', by: 'plan-release' },
      { state: 'noticed', at: '2027-03-05T09:00:00Z', by: 'send-notices' },
    ],
    noticeSentAt: '2027-03-05T09:00:00Z',
    notifiedDeployAt: '2027-03-13T01:00:00Z',
    ...overrides,
  };
}

/** An enterprise customer whose two approvers must say yes before its deployment. */
export function anEnterpriseCustomer(overrides: Partial<CustomerRecord> = {}): CustomerRecord {
  return aStandardCustomer({
    id: 'contoso-bank',
    name: 'Contoso Bank',
    policy: 'enterprise',
    phase: 'enterprise',
    batch: 1,
    stepKey: 'enterprise',
    noticeAt: '2027-03-09T09:00:00Z',
    deployAt: '2027-03-27T23:00:00Z',
    approvalRequired: true,
    deadlineAt: '2027-04-22T09:00:00Z',
    timeZone: 'America/New_York',
    window: { timeZone: 'America/New_York', days: ['sat'], start: '19:00', durationMinutes: 180 },
    contacts: [{ name: 'Contoso IT', email: 'it-ops@contoso.example.com' }],
    approvers: [
      { name: 'Priya Raman', email: 'Priya.Raman@contoso.example.com' },
      { name: 'Tom Okafor', email: 'tom.okafor@contoso.example.com' },
    ],
    ...overrides,
  });
}

/** The customer as planning left it: in `planned`, its advance notice not sent yet. */
export function notYetNoticed(customer: CustomerRecord): CustomerRecord {
  const { noticeSentAt: _sent, notifiedDeployAt: _told, ...rest } = customer;
  return {
    ...rest,
    state: 'planned',
    history: customer.history.filter((entry) => entry.state === 'planned'),
  };
}

/** The customer after a later task moved it on to `state`, its history telling by what. */
export function movedOn(
  customer: CustomerRecord,
  state: CustomerState,
  by: string,
  fields: Partial<CustomerRecord> = {},
): CustomerRecord {
  const entry: HistoryEntry = { state, at: customer.deployAt ?? customer.deadlineAt, by };
  return { ...customer, ...fields, state, history: [...customer.history, entry] };
}

/** Scheduled for its planned window (schedule-deployment). */
export function scheduled(customer: CustomerRecord): CustomerRecord {
  return movedOn(customer, 'scheduled', 'schedule-deployment', {
    scheduledAt: customer.deployAt ?? undefined,
  });
}

/** Its deployment requested from the platform, no report in yet (request-deployment). */
export function deploymentRequested(
  customer: CustomerRecord,
  fields: Partial<CustomerRecord> = {},
): CustomerRecord {
  return movedOn(scheduled(customer), 'deployment-requested', 'request-deployment', {
    deploymentRequestedAt: customer.deployAt ?? undefined,
    deploymentStatus: 'requested',
    ...fields,
  });
}

/** Deployed: the platform reported success (record-outcome). */
export function deployed(customer: CustomerRecord): CustomerRecord {
  return movedOn(deploymentRequested(customer), 'deployed', 'record-outcome', {
    deploymentStatus: 'succeeded',
    deployedAt: customer.deployAt ?? undefined,
  });
}

/** Its approvers asked, no decision yet (request-approval). */
export function awaitingApproval(customer: CustomerRecord): CustomerRecord {
  return movedOn(customer, 'awaiting-approval', 'request-approval');
}

/** Writes the customer and, as planning does, its membership of its step. */
export function givenCustomer(customer: CustomerRecord): CustomerRecord {
  putItem({
    PK: customerPartition(RELEASE, customer.id),
    SK: `CUSTOMER#${customer.id}`,
    ...customer,
  });
  putItem({
    PK: customerPartition(RELEASE, customer.id),
    SK: `STEP#${customer.stepKey}#CUSTOMER#${customer.id}`,
    id: customer.id,
    deployAt: customer.deployAt,
    approvalRequired: customer.approvalRequired,
    deadlineAt: customer.deadlineAt,
  });
  return customer;
}

/** The release record; a halted or paused release carries why. */
export function givenRelease(status: ReleaseRecord['status']): void {
  const pause =
    status === 'halted'
      ? {
          kind: 'halted',
          reason: 'customer reports under investigation',
          since: '2027-03-12T18:00:00Z',
          by: 'ops',
        }
      : status === 'paused'
        ? {
            kind: 'gate-failed',
            reason: 'gate standard_1 failed',
            since: '2027-03-12T18:00:00Z',
            by: 'gate#standard_1',
          }
        : undefined;
  putItem({
    PK: releaseKey,
    SK: 'META',
    release: RELEASE,
    status,
    halts: [],
    ...(pause ? { pause } : {}),
    ...(status === 'aborted' ? { abortReason: 'the release was withdrawn' } : {}),
    schedule: {
      release: RELEASE,
      startAt: '2027-03-01T09:00:00Z',
      endAt: '2027-04-22T09:00:00Z',
      steps: {},
      phases: {},
    },
  });
}

/** Steps on the release's schedule, with how many customers each (the release must be given first). */
export function givenScheduledSteps(customersByStep: Record<string, number>): void {
  const release = getItem(releaseKey, 'META') as ReleaseRecord & { PK: string; SK: string };
  const steps = Object.fromEntries(
    Object.entries(customersByStep).map(([key, customers]) => [
      key,
      { opensAt: '2027-03-01T09:00:00Z', customers },
    ]),
  );
  putItem({ ...release, schedule: { ...release.schedule, steps: { ...release.schedule.steps, ...steps } } });
}

export function givenStep(key: string, counters: Partial<StepRecord> & { total: number }): void {
  putItem({
    PK: releaseKey,
    SK: `STEP#${key}`,
    key,
    recorded: 0,
    deployed: 0,
    failed: 0,
    rejected: 0,
    deferred: 0,
    held: 0,
    ...counters,
  });
}

export function givenApproval(approval: ApprovalRecord): ApprovalRecord {
  putItem({ PK: `APPROVAL#${approval.id}`, SK: 'APPROVAL', ...approval });
  return approval;
}

export function storedCustomer(id: string): CustomerRecord | undefined {
  return getItem(customerPartition(RELEASE, id), `CUSTOMER#${id}`) as CustomerRecord | undefined;
}

export function storedRelease(): ReleaseRecord | undefined {
  return getItem(releaseKey, 'META') as ReleaseRecord | undefined;
}

/** The step as its readers see it: its counters summed over its counter shards. */
export function storedStep(key: string): StepRecord | undefined {
  const step = getItem(releaseKey, `STEP#${key}`) as Record<string, unknown> | undefined;
  if (!step) return undefined;
  const summed = { ...step };
  for (let shard = 0; shard < STEP_COUNTER_SHARDS; shard += 1) {
    const {
      PK: _pk,
      SK: _sk,
      counted: _c,
      rollbacksCounted: _r,
      healthReporters: _h,
      shardTotal: _t,
      ...counters
    } = getItem(`${releaseKey}#SHARD#${shard}`, `STEP#${key}`) ?? {};
    for (const [counter, value] of Object.entries(counters))
      summed[counter] = Number(summed[counter] ?? 0) + Number(value);
  }
  return summed as StepRecord;
}

/** A step's health as its gate reads it: its health shards added up. */
export function storedStepHealth(key: string): StepHealth {
  return combineHealth(
    snapshotTable()
      .filter((item) => item.PK === releaseKey && String(item.SK).startsWith(`STEP-HEALTH#${key}#`))
      .map((item) => item.health as StepHealth),
  );
}

export function storedApproval(id: string): ApprovalRecord | undefined {
  return getItem(`APPROVAL#${id}`, 'APPROVAL') as ApprovalRecord | undefined;
}

/** The audit record a task wrote for `what` (e.g. "gate#standard_2"), without its keys. */
export function storedAudit(what: string): Record<string, unknown> | undefined {
  const item = getItem(releaseKey, `AUDIT#${what}`);
  if (!item) return undefined;
  const { PK: _pk, SK: _sk, ...record } = item;
  return record;
}

/** The emails counted by kind, summed over the release's email counters. */
export function storedEmailCounts(): Record<string, unknown> {
  const counts: Record<string, number> = {};
  const partitions = [
    releaseKey,
    ...Array.from({ length: EMAIL_COUNTER_SHARDS }, (_, n) => `${releaseKey}#SHARD#${n}`),
  ];
  for (const partition of partitions) {
    const { PK: _pk, SK: _sk, ...item } = getItem(partition, 'EMAILS') ?? {};
    for (const [kind, count] of Object.entries(item)) counts[kind] = (counts[kind] ?? 0) + Number(count);
  }
  return counts;
}
