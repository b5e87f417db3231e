import { isDeepStrictEqual } from 'node:util';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectTarget } from '../../cli/target.js';
import { moveToCustomerPartitions } from '../../lambdas/application/store-upgrade.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import type { ReleaseSchedule } from '../../lambdas/core/rollout-shape.js';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { healthReportsSince } from '../../lambdas/store/audit.js';
import {
  customerKey,
  getCustomer,
  listParkedRollouts,
  type PlannedCustomerRecord,
  plannedCustomerItem,
} from '../../lambdas/store/customers.js';
import { fleetCustomers, getFleetCustomer } from '../../lambdas/store/fleet.js';
import { MOVE_ATTEMPTS } from '../../lambdas/store/migrations/customer-partitions.js';
import { createRelease } from '../../lambdas/store/releases.js';
import { listStepMembers, putStepIfAbsent, stepMemberItem } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { type CliRun, runCapturing } from '../support/cli.js';
import { startReleaseTable, TABLE_NAME } from './support/release-table.js';

// Upgrading a table the previous version wrote: its per-customer items sat under RELEASE#<v> and its fleet
// under FLEET. `migrate-store` moves them to the customer partitions the current version reads, on dynalite.

let database: LocalDynamoDb | undefined;

beforeEach(async () => {
  await database?.stop();
  database = await startReleaseTable();
});

afterAll(async () => {
  resetClients();
  await database?.stop();
});

const PLANNED_AT = '2027-03-01T09:00:00Z';
const DEPLOY_AT = '2027-03-13T01:00:00Z';
const STEP = 'standard_1';

const put = (item: Record<string, unknown>) =>
  dynamo().send(new PutCommand({ TableName: TABLE_NAME, Item: item }));

function planned(id: string): PlannedCustomerRecord {
  return {
    id,
    name: id,
    policy: 'standard',
    phase: 'standard',
    batch: 1,
    noticeAt: null,
    deployAt: DEPLOY_AT,
    approvalRequired: false,
    deadlineAt: '2027-04-01T09:00:00Z',
    timeZone: 'Europe/Berlin',
    stepKey: STEP,
    window: { timeZone: 'Europe/Berlin', days: ['sat'], start: '02:00', durationMinutes: 240 },
    contacts: [{ name: 'Ops', email: `ops@${id}.example.com` }],
    approvers: [],
  };
}

/**
 * A release as the previous version wrote it: its META, registry entry and step item (which stay where
 * they are), and each customer's plan entry and step membership under RELEASE#<v> (the current builders'
 * items, with the previous partition key).
 */
async function previousRelease(release: string, customerIds: readonly string[]): Promise<void> {
  await createRelease({ release, startAt: PLANNED_AT } as ReleaseSchedule, {
    config: bundledConfig(),
    fleetRevision: 1,
  });
  await putStepIfAbsent(release, STEP, {
    total: customerIds.length,
    oneAtATime: false,
    waitUntil: '2027-04-02T09:00:00Z',
  });
  for (const id of customerIds) {
    await put({
      ...plannedCustomerItem(release, planned(id), PLANNED_AT),
      PK: `RELEASE#${release}`,
      pokes: 0,
    });
    await put({
      ...stepMemberItem(release, STEP, {
        id,
        deployAt: DEPLOY_AT,
        approvalRequired: false,
        deadlineAt: '2027-04-01T09:00:00Z',
      }),
      PK: `RELEASE#${release}`,
    });
  }
}

const fleetCustomer = (id: string) => ({
  PK: 'FLEET',
  SK: `CUSTOMER#${id}`,
  id,
  name: id,
  policy: 'standard',
  currentVersion: 'v1.0.0',
  contacts: [{ name: 'Ops', email: `ops@${id}.example.com` }],
  approvers: [],
  maintenanceWindow: { timeZone: 'Europe/Berlin', days: ['sat'], start: '02:00', durationMinutes: 240 },
  updatedAt: PLANNED_AT,
  updatedBy: 'import',
  itemRevision: 3,
  deployedFrom: { 'v0.9.0': 'v0.8.0' },
  rolledBackBy: [],
});

const FLEET = ['acme-corporation', 'globex', 'initech', 'techstart-inc'];

/**
 * The table of the previous version: v1.1.0 with four customers (acme's rollout parked by a halt,
 * techstart's two reports while rolling back, initech's approval pending, a halt's audit record, refused
 * reports, a step health shard), v1.2.0 with one customer, and the fleet under FLEET.
 */
async function previousVersionTable(): Promise<void> {
  await previousRelease('v1.1.0', FLEET);
  await put({
    PK: 'RELEASE#v1.1.0',
    SK: 'PARKED#acme-corporation',
    customerId: 'acme-corporation',
    token: 'token-acme',
    since: '2027-03-13T01:05:00Z',
  });
  for (const [reportedAt, criticalErrors] of [
    ['2027-03-13T03:00:00Z', 4],
    ['2027-03-13T04:00:00Z', 0],
  ] as const)
    await put({
      PK: 'RELEASE#v1.1.0',
      SK: `HEALTH#techstart-inc#${reportedAt}`,
      customerId: 'techstart-inc',
      reportedAt,
      criticalErrors,
      securityFindings: 0,
      latencyChangePercent: 2.5,
    });
  for (const stays of [
    { SK: 'PENDING-APPROVAL#initech', customerId: 'initech', stepKey: STEP, askedAt: PLANNED_AT },
    { SK: 'AUDIT#halt', at: PLANNED_AT, what: 'halt' },
    { SK: 'HEALTH-REFUSED', 'unknown-customer': 2 },
    { SK: `STEP-HEALTH#${STEP}#0`, healthVersion: 1 },
  ])
    await put({ PK: 'RELEASE#v1.1.0', ...stays });
  await previousRelease('v1.2.0', ['globex']);
  for (const id of FLEET) await put(fleetCustomer(id));
  await put({
    PK: 'FLEET',
    SK: 'META',
    revision: 1,
    updatedAt: PLANNED_AT,
    updatedBy: 'import',
    customers: 4,
  });
}

/** What previousVersionTable() holds at the old keys: its per-customer items of each release, its fleet. */
const PREVIOUS_ITEMS = { 'v1.1.0': 11, 'v1.2.0': 2, fleet: 4 } as const;

/** The result of a run that found all of PREVIOUS_ITEMS at the old keys (`moved`) or in place already. */
function resultFor(found: 'moved' | 'alreadyInPlace', dryRun = false) {
  const counts = (count: number) =>
    found === 'moved' ? { moved: count, alreadyInPlace: 0 } : { moved: 0, alreadyInPlace: count };
  return {
    dryRun,
    releases: (['v1.1.0', 'v1.2.0'] as const).map((release) => ({
      release,
      ...counts(PREVIOUS_ITEMS[release]),
    })),
    fleet: counts(PREVIOUS_ITEMS.fleet),
  };
}

async function sortKeysUnder(partitionKey: string): Promise<string[]> {
  const page = await dynamo().send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'PK = :partition',
      ExpressionAttributeValues: { ':partition': partitionKey },
    }),
  );
  return (page.Items ?? []).map((item) => String(item.SK));
}

async function wholeTable(): Promise<Record<string, unknown>[]> {
  const page = await dynamo().send(new ScanCommand({ TableName: TABLE_NAME }));
  return (page.Items ?? []).sort((a, b) =>
    `${a.PK}\n${a.SK}` < `${b.PK}\n${b.SK}` ? -1 : `${a.PK}\n${a.SK}` > `${b.PK}\n${b.SK}` ? 1 : 0,
  );
}

describe('moving to the customer partitions', () => {
  it('moves every per-customer item and fleet customer, so the current store reads them as they were', async () => {
    // Prepare
    await previousVersionTable();

    // Act
    const result = await moveToCustomerPartitions();

    // Assess
    expect(result).toEqual(resultFor('moved'));
    expect(await getCustomer('v1.1.0', 'initech')).toEqual(
      expect.objectContaining({ id: 'initech', state: 'planned', contacts: planned('initech').contacts }),
    );
    expect((await listStepMembers('v1.1.0', STEP)).map((member) => member.id)).toEqual(FLEET);
    expect((await listStepMembers('v1.2.0', STEP)).map((member) => member.id)).toEqual(['globex']);
    expect(await listParkedRollouts('v1.1.0')).toEqual([
      { customerId: 'acme-corporation', token: 'token-acme', since: '2027-03-13T01:05:00Z' },
    ]);
    expect(await healthReportsSince('v1.1.0', 'techstart-inc', '2027-03-13T00:00:00Z')).toEqual([
      {
        reportedAt: '2027-03-13T03:00:00Z',
        criticalErrors: 4,
        securityFindings: 0,
        latencyChangePercent: 2.5,
      },
      {
        reportedAt: '2027-03-13T04:00:00Z',
        criticalErrors: 0,
        securityFindings: 0,
        latencyChangePercent: 2.5,
      },
    ]);
    const fleet = [];
    for await (const customer of fleetCustomers()) fleet.push(customer.id);
    expect(fleet.sort()).toEqual(FLEET);
    expect(await getFleetCustomer('globex')).toEqual(
      expect.objectContaining({ itemRevision: 3, deployedFrom: { 'v0.9.0': 'v0.8.0' } }),
    );
  });

  it('leaves nothing at the old keys, and every item that is not per customer where it was', async () => {
    // Prepare
    await previousVersionTable();

    // Act
    await moveToCustomerPartitions();

    // Assess
    expect(await sortKeysUnder('RELEASE#v1.1.0')).toEqual([
      'AUDIT#halt',
      'HEALTH-REFUSED',
      'META',
      'PENDING-APPROVAL#initech',
      'STEP#standard_1',
      'STEP-HEALTH#standard_1#0',
    ]);
    expect(await sortKeysUnder('RELEASE#v1.2.0')).toEqual(['META', 'STEP#standard_1']);
    expect(await sortKeysUnder('FLEET')).toEqual(['META']);
  });

  it('finds nothing to move when run again, and counts what is in place', async () => {
    // Prepare
    await previousVersionTable();
    await moveToCustomerPartitions();
    const before = await wholeTable();

    // Act
    const again = await moveToCustomerPartitions();

    // Assess
    expect(again).toEqual(resultFor('alreadyInPlace'));
    expect(await wholeTable()).toEqual(before);
  });

  it('finishes a move cut short between its copy and its deletion', async () => {
    // Prepare: globex's plan entry of v1.2.0 copied to its partition, and still at its old key too.
    await previousVersionTable();
    const old = {
      ...plannedCustomerItem('v1.2.0', planned('globex'), PLANNED_AT),
      PK: 'RELEASE#v1.2.0',
      pokes: 0,
    };
    await put({ ...old, ...customerKey('v1.2.0', 'globex') });

    // Act
    const result = await moveToCustomerPartitions();

    // Assess
    expect(result.releases[1]).toEqual({ release: 'v1.2.0', moved: 2, alreadyInPlace: 0 });
    expect(await sortKeysUnder('RELEASE#v1.2.0')).toEqual(['META', 'STEP#standard_1']);
    expect(await getCustomer('v1.2.0', 'globex')).toEqual(expect.objectContaining({ id: 'globex' }));
  });
});

describe('a move raced by writers of the previous version', () => {
  const RELEASE = 'v2.0.0';
  const ids = Array.from({ length: 40 }, (_, index) => `customer-${String(index).padStart(2, '0')}`);
  /** Each racer writes once to each of these; fewer writes to an item than a move's attempts. */
  const raced = ids.slice(0, 8);
  const RACERS = MOVE_ATTEMPTS - 1;

  /**
   * As the previous version would: `SET racer<n> = :at` (and, for even racers, `ADD pokes 1`) at the old
   * key while the item is there; once it has moved, as the current version would, at its new key.
   */
  async function racerWrites(racer: number, customerId: string): Promise<void> {
    const update = (PK: string) =>
      dynamo().send(
        new UpdateCommand({
          TableName: TABLE_NAME,
          Key: { PK, SK: `CUSTOMER#${customerId}` },
          UpdateExpression: racer % 2 === 0 ? 'SET #racer = :at ADD pokes :one' : 'SET #racer = :at',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#racer': `racer${racer}` },
          ExpressionAttributeValues: {
            ':at': `2027-03-13T0${racer}:00:00Z`,
            ...(racer % 2 === 0 ? { ':one': 1 } : {}),
          },
        }),
      );
    try {
      await update(`RELEASE#${RELEASE}`);
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      await update(customerKey(RELEASE, customerId).PK);
    }
  }

  it('keeps every write that lands during the move: the moved item holds them all', async () => {
    // Prepare
    await previousRelease(RELEASE, ids);

    // Act
    const [result] = await Promise.all([
      moveToCustomerPartitions(),
      ...Array.from({ length: RACERS }, async (_, racer) => {
        // Each racer goes through the raced customers in its own order.
        const order = racer % 2 === 0 ? raced : [...raced].reverse();
        for (const id of order) await racerWrites(racer, id);
      }),
    ]);

    // Assess
    expect(result.releases).toEqual([{ release: RELEASE, moved: 80, alreadyInPlace: 0 }]);
    for (const id of raced) {
      const customer = await getCustomer(RELEASE, id);
      expect(customer).toEqual(
        expect.objectContaining({
          pokes: Math.ceil(RACERS / 2),
          ...Object.fromEntries(
            Array.from({ length: RACERS }, (_, racer) => [`racer${racer}`, `2027-03-13T0${racer}:00:00Z`]),
          ),
        }),
      );
    }
    expect(await sortKeysUnder(`RELEASE#${RELEASE}`)).toEqual(['META', 'STEP#standard_1']);
  });
});

describe('a move whose item is written between its copy and its deletion', () => {
  const RELEASE = 'v2.1.0';
  const OLD_KEY = { PK: `RELEASE#${RELEASE}`, SK: 'CUSTOMER#acme-corporation' };

  /** Runs `write` on the old key just before each deletion of it the migration sends: a writer always first. */
  async function withWriterBeforeEachDeletion<Result>(
    write: () => Promise<unknown>,
    act: () => Promise<Result>,
  ): Promise<Result> {
    dynamo().middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: Record<string, unknown> }).Key;
        if (context.commandName === 'DeleteItemCommand' && isDeepStrictEqual(key, OLD_KEY)) await write();
        return next(args);
      },
      { step: 'initialize', name: 'writerBeforeDeletion' },
    );
    try {
      return await act();
    } finally {
      dynamo().middlewareStack.remove('writerBeforeDeletion');
    }
  }

  const setOnOldKey = (update: string, values: Record<string, unknown>) => () =>
    dynamo().send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: OLD_KEY,
        UpdateExpression: update,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: values,
      }),
    );

  it("carries over an attribute added to the old item, which the deletion's condition cannot see", async () => {
    // Prepare
    await previousRelease(RELEASE, ['acme-corporation']);
    let written = 0;
    const addOnce = setOnOldKey('SET halt = :halt', {
      ':halt': { id: 'h1', from: 'planned', reason: 'customer asked', by: 'dana' },
    });

    // Act
    await withWriterBeforeEachDeletion(
      async () => {
        if (written++ === 0) await addOnce();
      },
      () => moveToCustomerPartitions(),
    );

    // Assess
    expect((await getCustomer(RELEASE, 'acme-corporation'))?.halt).toEqual({
      id: 'h1',
      from: 'planned',
      reason: 'customer asked',
      by: 'dana',
    });
    expect(await sortKeysUnder(OLD_KEY.PK)).toEqual(['META', 'STEP#standard_1']);
  });

  it('does not bring back an item deleted at its old key while it was being moved', async () => {
    // Prepare: the previous version's code deletes the item (an answered parked rollout, say) mid-move.
    await previousRelease(RELEASE, ['acme-corporation']);
    let deleted = false;
    const deleteOldOnce = async () => {
      if (deleted) return;
      deleted = true;
      await dynamo().send(new DeleteCommand({ TableName: TABLE_NAME, Key: OLD_KEY }));
    };

    // Act
    await withWriterBeforeEachDeletion(deleteOldOnce, () => moveToCustomerPartitions());

    // Assess: at neither key.
    expect(await getCustomer(RELEASE, 'acme-corporation')).toBeUndefined();
    expect(await sortKeysUnder(OLD_KEY.PK)).toEqual(['META', 'STEP#standard_1']);
  });

  it(`gives up after ${MOVE_ATTEMPTS} attempts, naming the item, which stays at its old key with every write`, async () => {
    // Prepare
    await previousRelease(RELEASE, ['acme-corporation']);

    // Act
    const moving = withWriterBeforeEachDeletion(setOnOldKey('ADD pokes :one', { ':one': 1 }), () =>
      moveToCustomerPartitions(),
    );

    // Assess
    await expect(moving).rejects.toThrow(
      `RELEASE#v2.1.0 / CUSTOMER#acme-corporation changed during each of ${MOVE_ATTEMPTS} attempts to move it to ${customerKey(RELEASE, 'acme-corporation').PK} / CUSTOMER#acme-corporation; it is still at its old key, unchanged by the move. Fix: halt what writes it (halt --all), then run migrate-store again`,
    );
    const old = await dynamo().send(new GetCommand({ TableName: TABLE_NAME, Key: OLD_KEY }));
    expect(old.Item?.pokes).toBe(MOVE_ATTEMPTS);
    expect(await getCustomer(RELEASE, 'acme-corporation')).toBeUndefined();
  });
});

describe('migrate-store', () => {
  const connect: ConnectTarget = async () => ({
    kind: 'local',
    description: 'local stack (test)',
    now: async () => PLANNED_AT,
    startRelease: async () => ({ executionArn: 'arn:test', alreadyStarted: false }),
    scheduleReleaseStart: async () => {},
    close: async () => {},
  });
  const run = (...argv: string[]): Promise<CliRun> => runCapturing(argv, { connect });

  it('says what it moved, one line per release and the fleet, and exits 0', async () => {
    // Prepare
    await previousVersionTable();

    // Act
    const result = await run('migrate-store', '--local');

    // Assess
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(
      [
        'Moved to the customer partitions on local stack (test):',
        '  v1.1.0: 11 items moved',
        '  v1.2.0: 2 items moved',
        '  fleet: 4 items moved',
        '',
      ].join('\n'),
    );
  });

  it('with --dry-run counts what would move and changes nothing', async () => {
    // Prepare
    await previousVersionTable();
    const before = await wholeTable();

    // Act
    const result = await run('migrate-store', '--local', '--dry-run');

    // Assess
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(
      [
        'Dry run on local stack (test), nothing changed; migrate-store would move to the customer partitions:',
        '  v1.1.0: 11 items to move',
        '  v1.2.0: 2 items to move',
        '  fleet: 4 items to move',
        '',
      ].join('\n'),
    );
    expect(await wholeTable()).toEqual(before);
  });

  it('says the table is already in the current layout when run again', async () => {
    // Prepare
    await previousVersionTable();
    await run('migrate-store', '--local');

    // Act
    const text = await run('migrate-store', '--local');
    const json = await run('migrate-store', '--local', '--json');

    // Assess
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toBe(
      'The table on local stack (test) is already in the current layout: nothing to move (17 items in the customer partitions; 2 release(s) and the fleet checked).\n',
    );
    expect(JSON.parse(json.stdout)).toEqual(resultFor('alreadyInPlace'));
    expect(json.stderr).toBe('');
  });

  it('refuses a health report that names no customer, naming it and the fix, and leaves it in place', async () => {
    // Prepare
    await previousRelease('v1.1.0', ['acme-corporation']);
    const report = {
      PK: 'RELEASE#v1.1.0',
      SK: 'HEALTH#acme-corporation#2027-03-13T03:00:00Z',
      criticalErrors: 1,
    };
    await put(report);

    // Act
    const result = await run('migrate-store', '--local');

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.stderr.split('\n').at(-2)).toBe(
      'error: RELEASE#v1.1.0 / HEALTH#acme-corporation#2027-03-13T03:00:00Z names no customer (a health report needs its customerId), so its customer partition is unknown; nothing of it was moved. Fix: set its customerId (the id in its sort key) or delete it, then run migrate-store again',
    );
    const left = await dynamo().send(
      new GetCommand({ TableName: TABLE_NAME, Key: { PK: report.PK, SK: report.SK } }),
    );
    expect(left.Item).toEqual(report);
  });

  it('refuses an item held, different, at both its old and its new key, naming both, and changes neither', async () => {
    // Prepare: acme's plan entry at its new key already, with a later state than at its old key.
    await previousRelease('v1.1.0', ['acme-corporation']);
    const entry = plannedCustomerItem('v1.1.0', planned('acme-corporation'), PLANNED_AT);
    await put({ ...entry, state: 'notified' });
    const before = await wholeTable();

    // Act
    const result = await run('migrate-store', '--local');

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.stderr.split('\n').at(-2)).toBe(
      `error: RELEASE#v1.1.0 / CUSTOMER#acme-corporation is at its old key and, different, at its new key ${entry.PK} / CUSTOMER#acme-corporation: neither was changed. Fix: compare the two items, delete the one that is out of date, then run migrate-store again`,
    );
    expect((await wholeTable()).filter((item) => String(item.SK).startsWith('CUSTOMER#'))).toEqual(
      before.filter((item) => String(item.SK).startsWith('CUSTOMER#')),
    );
  });
});
