import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { Config } from '../core/model.js';
import type { ReleaseSchedule } from '../core/rollout-shape.js';
import { dynamo } from '../shared/clients.js';
import { ReleaseStateError } from '../shared/errors.js';
import { parseItem, queryAll, releaseKey, setClause, tableName, writeIf } from './table.js';

export const RELEASE_STATUSES = [
  'planning',
  'running',
  'paused',
  'halted',
  'completed',
  'aborted',
  'failed',
] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** A halt as the operator sees it: what it covered, from when to when, why and who asked. */
const haltRecord = z.looseObject({
  id: z.string(),
  scope: z.string(),
  from: z.string(),
  to: z.string().optional(),
  reason: z.string(),
  by: z.string(),
  resumedBy: z.string().optional(),
  resumeReason: z.string().optional(),
});
export type HaltRecord = z.infer<typeof haltRecord>;

/** Why a release is not going forward right now: an operator's halt or a gate that did not pass. */
const pauseRecord = z.looseObject({
  kind: z.enum(['halted', 'gate-failed', 'rollback-failed']),
  reason: z.string(),
  since: z.string(),
  by: z.string(),
  /** The steps whose failed gate this pause is; resuming accepts their failures. */
  steps: z.array(z.string()).optional(),
});
export type PauseRecord = z.infer<typeof pauseRecord>;

const releaseRecord = z.looseObject({
  release: z.string(),
  status: z.enum(RELEASE_STATUSES),
  schedule: z.custom<ReleaseSchedule>((value) => typeof value === 'object' && value !== null),
  /** The policies the release was planned with, used to its end (application/release-config.ts validates them). */
  config: z.custom<Config>((value) => typeof value === 'object' && value !== null).optional(),
  /** The fleet revision the release was planned from (its customers' plan entries are the fleet's snapshot). */
  fleetRevision: z.number().optional(),
  halts: z.array(haltRecord).default([]),
  pause: pauseRecord.optional(),
  /** The token of the release execution parked at an "awaiting decision" state. */
  decisionToken: z.string().optional(),
  /** The step whose customers the release execution is awaiting. */
  awaitingStep: z.string().optional(),
  /** The state the release execution is parked in, while it awaits a decision. */
  parkedAt: z.string().optional(),
  abortReason: z.string().optional(),
  haltReason: z.string().optional(),
  report: z.record(z.string(), z.unknown()).optional(),
  /** The release's quality figures an operator accepted by resuming after a gate; later gates judge what is worse. */
  acceptedQuality: z
    .object({
      deployments: z.number(),
      rollbacks: z.number(),
      rollbackRatePercent: z.number(),
      criticalIssues: z.number(),
      performanceImpactPercent: z.number(),
      supportTicketIncreasePercent: z.number(),
    })
    .optional(),
});
export type ReleaseRecord = z.infer<typeof releaseRecord>;

const metaKey = (release: string) => ({ PK: releaseKey(release), SK: 'META' });

/** What a halt check reads of a release (control.ts `holdOf`): its status and why it is held, nothing large. */
const releaseHold = releaseRecord.pick({ release: true, status: true, pause: true, abortReason: true });
export type ReleaseHold = z.infer<typeof releaseHold>;
export const RELEASE_HOLD_FIELDS = Object.keys(releaseHold.shape);
export const releaseMetaKey = metaKey;
export const parseReleaseHold = (item: Record<string, unknown>): ReleaseHold => parseItem(releaseHold, item);

/** What a release is planned with and keeps to its end: the policies and the fleet revision. */
export interface ReleaseSnapshot {
  config: Config;
  fleetRevision: number;
}

/** Creates the release record once; returns false when it already existed (a retried or repeated start). */
export async function createRelease(schedule: ReleaseSchedule, snapshot: ReleaseSnapshot): Promise<boolean> {
  const created = await writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...metaKey(schedule.release),
        release: schedule.release,
        status: 'planning',
        schedule,
        config: snapshot.config,
        fleetRevision: snapshot.fleetRevision,
        halts: [],
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: 'RELEASES', SK: schedule.release, release: schedule.release, startAt: schedule.startAt },
    }),
  );
  return created;
}

export async function getRelease(release: string): Promise<ReleaseRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: metaKey(release) }),
  );
  return result.Item ? parseItem(releaseRecord, result.Item) : undefined;
}

export async function requireRelease(release: string): Promise<ReleaseRecord> {
  const record = await getRelease(release);
  if (!record) throw new ReleaseStateError(`No release ${release} has been planned`);
  return record;
}

/** Every release ever planned, for operations that cover all of them (halt --all). */
export async function listReleases(): Promise<string[]> {
  const releases: string[] = [];
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :registry',
    ExpressionAttributeValues: { ':registry': 'RELEASES' },
  }))
    releases.push(String(item.SK));
  return releases;
}

/**
 * Moves the release to `status` only from one of `from`, setting `fields` (undefined ones are left) and
 * removing `remove`. False when the release was not in one of `from`: someone else decided first.
 */
export async function moveRelease(
  release: string,
  from: readonly ReleaseStatus[],
  status: ReleaseStatus,
  fields: Partial<Omit<ReleaseRecord, 'status'>> = {},
  remove: (keyof ReleaseRecord)[] = [],
): Promise<boolean> {
  const { sets, names, values } = setClause({ ...fields, status });
  const removals = remove.map((field, index) => {
    names[`#r${index}`] = String(field);
    return `#r${index}`;
  });
  const fromValues = Object.fromEntries(from.map((value, index) => [`:from${index}`, value]));
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: metaKey(release),
      UpdateExpression: `SET ${sets.join(', ')}${removals.length ? ` REMOVE ${removals.join(', ')}` : ''}`,
      ConditionExpression: `#st IN (${Object.keys(fromValues).join(', ')})`,
      ExpressionAttributeNames: { ...names, '#st': 'status' },
      ExpressionAttributeValues: { ...values, ...fromValues },
    }),
  );
}

/** Sets fields on the release record whatever its status (tokens, the step awaited); returns the record. */
export async function updateRelease(release: string, fields: Partial<ReleaseRecord>): Promise<ReleaseRecord> {
  const { sets, names, values } = setClause(fields);
  const result = await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: metaKey(release),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return parseItem(releaseRecord, result.Attributes ?? {});
}

/** Appends a halt to the release's list of halts (the list `--json` and the audit trail show). */
export async function appendHalt(release: string, halt: HaltRecord): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: metaKey(release),
      UpdateExpression: 'SET halts = list_append(if_not_exists(halts, :none), :halt)',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':none': [], ':halt': [halt] },
    }),
  );
}

/** Closes the open halts whose scope `covers` accepts (sets `to`); the list is rewritten, guarded by its length. */
export async function closeHalts(
  release: string,
  covers: (scope: string) => boolean,
  closing: Pick<HaltRecord, 'to' | 'resumedBy' | 'resumeReason'>,
): Promise<HaltRecord[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await requireRelease(release);
    const closed: HaltRecord[] = [];
    const halts = current.halts.map((halt) => {
      if (halt.to || !covers(halt.scope)) return halt;
      const done = { ...halt, ...closing };
      closed.push(done);
      return done;
    });
    if (closed.length === 0) return [];
    const written = await writeIf(
      new UpdateCommand({
        TableName: tableName(),
        Key: metaKey(release),
        UpdateExpression: 'SET halts = :halts',
        ConditionExpression: 'size(halts) = :count',
        ExpressionAttributeValues: { ':halts': halts, ':count': current.halts.length },
      }),
    );
    if (written) return closed;
  }
  throw new ReleaseStateError(`The halts of ${release} kept changing; try again`);
}

/** Sets a marker on the release record unless it is set; false when another run already set it. */
export async function claimReleaseMarker(release: string, marker: string, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: metaKey(release),
      UpdateExpression: 'SET #marker = :at',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#marker)',
      ExpressionAttributeNames: { '#marker': marker },
      ExpressionAttributeValues: { ':at': at },
    }),
  );
}

export async function releaseReleaseMarker(release: string, marker: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: metaKey(release),
      UpdateExpression: 'REMOVE #marker',
      ExpressionAttributeNames: { '#marker': marker },
    }),
  );
}
