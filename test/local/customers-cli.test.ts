import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectTarget, TargetOptions } from '../../cli/target.js';
import { recordCustomerVersion } from '../../lambdas/application/fleet.js';
import type { Customer, ReleasePlan } from '../../lambdas/core/model.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { getFleetCustomer, getFleetRevision } from '../../lambdas/store/fleet.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { SAMPLE_FLEET_FILE, sampleFleet } from '../../local/sample-fleet.js';
import { type CliRun, runCapturing } from '../support/cli.js';
import { startReleaseTable } from './support/release-table.js';

// `customers import | list | show` and `plan-release` with a target, run in-process against a target whose
// table is dynalite.

let database: LocalDynamoDb | undefined;
let connections: TargetOptions[] = [];
const workdir = mkdtempSync(join(tmpdir(), 'customers-cli-'));

const connect: ConnectTarget = async (options) => {
  connections.push(options);
  return {
    kind: 'local',
    description: 'local stack (test)',
    now: async () => '2027-03-01T09:00:00.000Z',
    startRelease: async () => ({ executionArn: 'arn:test', alreadyStarted: false }),
    scheduleReleaseStart: async () => {},
    close: async () => {},
  };
};

function run(...argv: string[]): Promise<CliRun> {
  return runCapturing(argv, { now: () => new Date('2027-02-28T15:30:00Z'), cwd: workdir, connect });
}

function fleetFile(name: string, customers: unknown[]): string {
  const file = join(workdir, name);
  writeFileSync(file, JSON.stringify({ customers }));
  return file;
}

beforeAll(() => {
  useClock({ now: () => '2027-03-01T09:00:00.000Z' });
});

beforeEach(async () => {
  await database?.stop();
  database = await startReleaseTable();
  connections = [];
});

afterAll(async () => {
  useRealClock();
  resetClients();
  await database?.stop();
});

describe('customers import', () => {
  it('imports a fleet file, says what it added and who did it, and exits 0', async () => {
    // Act
    const result = await run('customers', 'import', SAMPLE_FLEET_FILE, '--local', '--by', 'alice');

    // Assess
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      `Imported ${SAMPLE_FLEET_FILE} into the fleet on local stack (test): 44 added, 0 changed, 0 unchanged. Fleet revision 1, 44 customers.`,
    );
    expect(connections).toEqual([expect.objectContaining({ local: true })]);
    expect((await getFleetCustomer('acme-corporation'))?.updatedBy).toBe('alice');
  });

  it('says there is nothing to change when the fleet already is as the file says, and exits 0', async () => {
    // Prepare
    await run('customers', 'import', SAMPLE_FLEET_FILE, '--local');

    // Act
    const result = await run('customers', 'import', SAMPLE_FLEET_FILE, '--local', '--json');

    // Assess
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      source: SAMPLE_FLEET_FILE,
      revision: 1,
      customers: 44,
      added: [],
      changed: [],
      unchanged: 44,
      versionsKept: [],
    });
    expect(result.stderr).toBe('');
  });

  it('names the changed customers and fields of a file given relative to the current directory', async () => {
    // Prepare
    await run('customers', 'import', SAMPLE_FLEET_FILE, '--local');
    const edited = sampleFleet().customers.map((customer) =>
      customer.id === 'techstart-inc' ? { ...customer, name: 'TechStart Incorporated' } : customer,
    );
    fleetFile('edited.json', edited);

    // Act
    const result = await run('customers', 'import', 'edited.json', '--local');

    // Assess
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('0 added, 1 changed, 43 unchanged. Fleet revision 2, 44 customers.');
    expect(result.stdout).toContain('changed: techstart-inc (name)');
  });

  it('refuses a file with problems, listing each with its path and fix, imports nothing, and exits 1', async () => {
    // Prepare
    const [first, second, ...rest] = sampleFleet().customers as Customer[];
    const file = fleetFile('broken.json', [
      { ...first, policy: 'platinum' },
      { ...second, contacts: [{ name: 'Ops', email: 'not-an-address' }] },
      ...rest,
    ]);

    // Act
    const result = await run('customers', 'import', file, '--local');

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`error: ${file} has 2 problems; nothing was imported:`);
    expect(result.stderr).toContain(
      `${file}: customers[0].policy: unknown policy "platinum". Fix: use one of demo, startup, standard, enterprise`,
    );
    expect(result.stderr).toContain(
      `${file}: customers[1].contacts[0].email: "not-an-address" is not a valid email address. Fix: write an address like ops@example.com`,
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(await getFleetRevision()).toEqual({ revision: 0, updatedAt: null, customers: 0 });
  });

  it('refuses a file that does not exist, naming it, and exits 1', async () => {
    const result = await run('customers', 'import', 'missing.json', '--local');

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`${join(workdir, 'missing.json')}: (root): file not found`);
  });
});

describe('customers list', () => {
  it('lists the customers of one policy with the version each runs and its window', async () => {
    // Prepare
    await run('customers', 'import', SAMPLE_FLEET_FILE, '--local');
    await recordCustomerVersion('financefirst-bank', 'v1.1.0', 'deployed');

    // Act
    const result = await run('customers', 'list', '--policy', 'enterprise', '--local');

    // Assess
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      '8 customers on the enterprise policy (fleet revision 1, updated 2027-03-01T09:00:00.000Z)',
    );
    expect(lines[1]).toMatch(/^ID +NAME +POLICY +VERSION +WINDOW$/);
    expect(lines).toHaveLength(10);
    expect(result.stdout).toMatch(/financefirst-bank +FinanceFirst Bank +enterprise +v1\.1\.0 /);
  });

  it('prints the customers as JSON', async () => {
    // Prepare
    await run('customers', 'import', SAMPLE_FLEET_FILE, '--local');

    // Act
    const result = await run('customers', 'list', '--local', '--json');

    // Assess
    const listed = JSON.parse(result.stdout) as { revision: number; customers: Customer[] };
    expect(listed.revision).toBe(1);
    expect(listed.customers.map((customer) => customer.id)).toEqual(
      sampleFleet()
        .customers.map((customer) => customer.id)
        .sort(),
    );
    expect(listed.customers[0]).toEqual(
      sampleFleet().customers.find((customer) => customer.id === listed.customers[0]?.id),
    );
  });

  it('says the fleet is empty and how to fill it', async () => {
    const result = await run('customers', 'list', '--local');

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('The fleet is empty: import it with `customers import FILE`.\n');
  });

  it('refuses an unknown policy as a usage error (exit 2)', async () => {
    const result = await run('customers', 'list', '--policy', 'platinum', '--local');

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('platinum');
  });
});

describe('customers show', () => {
  beforeEach(async () => {
    await run('customers', 'import', SAMPLE_FLEET_FILE, '--local', '--by', 'alice');
  });

  it('shows a customer named by the start of its name, case-insensitively', async () => {
    const result = await run('customers', 'show', 'acme corp', '--local');

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('ACME Corporation (acme-corporation)');
    expect(result.stdout).toMatch(/policy: +standard/);
    expect(result.stdout).toMatch(/current version: +v1\.0\.0/);
    expect(result.stdout).toMatch(/last changed: +2027-03-01T09:00:00.000Z by alice/);
  });

  it('shows what the releases did to it, as JSON', async () => {
    // Prepare
    await recordCustomerVersion('acme-corporation', 'v1.1.0', 'deployed');

    // Act
    const result = await run('customers', 'show', 'acme-corporation', '--local', '--json');

    // Assess
    expect(JSON.parse(result.stdout)).toMatchObject({
      customer: { id: 'acme-corporation', currentVersion: 'v1.1.0' },
      deployedFrom: { 'v1.1.0': 'v1.0.0' },
      rolledBackBy: [],
      updatedBy: 'release v1.1.0 (deployed)',
    });
  });

  it('refuses a name matching several customers, listing them, and exits 1', async () => {
    const result = await run('customers', 'show', 'Delta', '--local');

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('"Delta" matches 2 customers');
    expect(result.stderr).toContain('"Delta Dental Group" (delta-dental-group)');
    expect(result.stderr).toContain('"Delta Federal Credit Union" (delta-federal-credit-union)');
  });
});

describe('plan-release with a target', () => {
  const PLAN = ['plan-release', '--version', 'v1.1.0', '--start', '2027-03-01T09:00:00Z', '--json'];

  it("plans the target's fleet", async () => {
    // Prepare
    const few = sampleFleet().customers.filter((customer) => customer.policy !== 'enterprise');
    await run('customers', 'import', fleetFile('few.json', few), '--local');

    // Act
    const result = await run(...PLAN, '--local');

    // Assess
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(result.stdout) as ReleasePlan;
    expect(plan.customers.map((customer) => customer.id).sort()).toEqual(
      few.map((customer) => customer.id).sort(),
    );
  });

  it('plans a fleet file offline when --fleet is given, without connecting', async () => {
    const result = await run(...PLAN, '--local', '--fleet', SAMPLE_FLEET_FILE);

    expect(result.exitCode).toBe(0);
    expect((JSON.parse(result.stdout) as ReleasePlan).customers).toHaveLength(44);
    expect(connections).toEqual([]);
  });

  it('refuses to plan an empty target fleet, naming the import', async () => {
    const result = await run(...PLAN, '--local');

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('error: the fleet is empty: import it first with `customers import FILE`\n');
  });

  it('says in its help which fleet it plans', async () => {
    const result = await run('plan-release', '--help');

    expect(result.stdout.replace(/\s+/g, ' ')).toContain(
      'With a target (--local, --profile, --region) it plans the target’s fleet; with --fleet or without a target it plans a fleet file, offline.',
    );
  });
});
