import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import customersJson from '../../config/customers.json' with { type: 'json' };
import { bundledConfig } from '../../lambdas/core/config.js';
import type { ReleasePlan } from '../../lambdas/core/model.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { type CliRun, runCapturing } from '../support/cli.js';
import { planViolations } from './support/plan-invariants.js';

function whenRunning(...argv: string[]): Promise<CliRun> {
  return runCapturing(argv, { now: () => new Date('2027-02-28T15:30:00Z') });
}

function givenFleetFile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cli-fleet-')), 'customers.json');
  writeFileSync(file, content);
  return file;
}

function expectShortError(run: CliRun, pattern: RegExp): void {
  expect(run.exitCode).not.toBe(0);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^error: /);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

const PLAN = ['plan-release', '--version', 'v1.1.0', '--start', '2027-03-01T09:00:00Z'];

describe('plan-release', () => {
  it('prints the timeline with phases by day, dates, batches and customer names', async () => {
    const run = await whenRunning(...PLAN);

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('SecureWatch v1.1.0 · minor release plan');
    expect(run.stdout).toMatch(/Day 8-21 +│ Standard Rollout +2027-03-09 → 2027-03-23/);
    expect(run.stdout).toContain(
      'Batch 2 of 4 · opens Fri 2027-03-12 09:00 UTC · notice Fri 2027-03-05 09:00 UTC',
    );
    expect(run.stdout).toContain('TechStart Inc');
    expect(run.stdout).toContain('ACME Corporation');
    expect(run.stdout).toContain('All 44 customers scheduled');
  });

  it('shows enterprise windows in the customer’s local time', async () => {
    const run = await whenRunning(...PLAN);

    expect(run.stdout).toContain('FinanceFirst Bank · approval required');
    expect(run.stdout).toContain('window Sun 2027-04-11 01:00 America/New_York');
  });

  it('prints a JSON plan that keeps every promise', async () => {
    const run = await whenRunning(...PLAN, '--json');

    const plan = JSON.parse(run.stdout) as ReleasePlan;
    const config = bundledConfig();
    expect(plan).toMatchObject({ version: 'v1.1.0', startAt: '2027-03-01T09:00:00Z' });
    expect(Object.keys(plan.phases[0] ?? {})).toEqual(
      expect.arrayContaining(['name', 'policy', 'startAt', 'endAt', 'batches']),
    );
    expect(Object.keys(plan.customers[0] ?? {})).toEqual(
      expect.arrayContaining([
        'id',
        'name',
        'policy',
        'phase',
        'batch',
        'noticeAt',
        'deployAt',
        'approvalRequired',
        'deadlineAt',
      ]),
    );
    expect(planViolations(plan, config, sampleFleet(config.policies))).toEqual([]);
  });

  it('starts the next day at 09:00 UTC by default', async () => {
    const run = await whenRunning('plan-release', '--version', 'v1.1.0', '--json');

    expect((JSON.parse(run.stdout) as ReleasePlan).startAt).toBe('2027-03-01T09:00:00Z');
  });

  it('plans another fleet file and reports the customers it cannot schedule', async () => {
    const [demo] = customersJson.customers;
    const sundayOnly = {
      ...demo,
      maintenanceWindow: { timeZone: 'UTC', days: ['sun'], start: '03:00', durationMinutes: 30 },
    };
    const file = givenFleetFile(JSON.stringify({ customers: [sundayOnly] }));

    const run = await whenRunning(...PLAN, '--fleet', file);

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('1 of 1 customers cannot be scheduled before their policy deadline');
    expect(run.stdout).toContain('Demo · Sales US (demo-sales-us): no maintenance window opens');
  });

  it.each([
    ['a patch version', 'v1.1.1', /patch release/],
    ['a major version', 'v2.0.0', /major release/],
    ['a malformed tag', 'latest', /expected a tag like v1\.1\.0/],
    ['a released version', 'v1.0.0', /not newer than the latest released v1\.0\.0/],
  ])('refuses %s with the reason', async (_, version, reason) => {
    expectShortError(await whenRunning('plan-release', '--version', version), reason);
  });

  it('refuses a fleet file that breaks an invariant, naming file, path and fix', async () => {
    const broken = structuredClone(customersJson);
    broken.customers[0] = {
      ...customersJson.customers[0],
      id: 'demo-sales-emea',
    } as (typeof broken.customers)[0];
    const file = givenFleetFile(JSON.stringify(broken));

    const run = await whenRunning(...PLAN, '--fleet', file);

    expectShortError(
      run,
      /customers\.json: customers\[\d+\]\.id: duplicate customer id "demo-sales-emea".*Fix: give every customer a unique id/,
    );
  });

  it('refuses a fleet file that does not exist', async () => {
    expectShortError(
      await whenRunning(...PLAN, '--fleet', '/nowhere/fleet.json'),
      /\/nowhere\/fleet\.json: .*file not found/,
    );
  });

  it('refuses an unknown option with usage exit code 2', async () => {
    const run = await whenRunning(...PLAN, '--dry-run');

    expectShortError(run, /unknown option '--dry-run'/);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses an unknown command with usage exit code 2', async () => {
    const run = await whenRunning('plan-relase', '--version', 'v1.1.0');

    expectShortError(run, /unknown command 'plan-relase'/);
    expect(run.exitCode).toBe(2);
  });

  it('refuses a start that is not an ISO-8601 instant', async () => {
    const run = await whenRunning('plan-release', '--version', 'v1.1.0', '--start', 'tomorrow');

    expectShortError(run, /expected an ISO-8601 instant like 2027-03-01T09:00:00Z/);
    expect(run.exitCode).toBe(2);
  });

  it('refuses a missing --version', async () => {
    expectShortError(await whenRunning('plan-release'), /required option '--version <tag>' not specified/);
  });
});

describe('scripts/minor-release-manager.sh', () => {
  const script = join(import.meta.dirname, '../../scripts/minor-release-manager.sh');
  const run = promisify(execFile);

  it('runs the CLI and prints the plan', async () => {
    const { stdout } = await run(script, [...PLAN, '--json']);

    expect((JSON.parse(stdout) as ReleasePlan).customers).toHaveLength(44);
  });

  it('exits non-zero with a one-line error and no stack trace on bad input', async () => {
    const failure = await run(script, ['plan-release', '--version', 'v1.1.1']).catch(
      (error: unknown) => error,
    );

    expect(failure).toMatchObject({
      code: 1,
      stderr: 'error: v1.1.1 is a patch release; minor releases end in .0\n',
    });
  });
});
