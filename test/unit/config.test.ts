import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import customersJson from '../../config/customers.json' with { type: 'json' };
import policiesJson from '../../config/deployment-policies.json' with { type: 'json' };
import releaseJson from '../../config/minor-release-policies.json' with { type: 'json' };
import {
  bundledConfig,
  loadConfig,
  loadFleet,
  parseDeploymentPolicies,
  parseFleet,
  parseReleasePolicies,
} from '../../lambdas/core/config.js';
import { ConfigError, type ConfigIssue } from '../../lambdas/core/errors.js';
import type { DeploymentPolicies } from '../../lambdas/core/model.js';
import { sampleFleet } from '../../local/sample-fleet.js';

type JsonPath = readonly (string | number)[];
const REMOVED = Symbol('removed');

/** A copy of a shipped file with one value changed (or removed): one broken thing per test. */
function changed(raw: unknown, path: JsonPath, value: unknown): unknown {
  const copy = structuredClone(raw);
  const parentPath = path.slice(0, -1);
  const key = path.at(-1) ?? '';
  const parent = parentPath.reduce<unknown>((node, step) => (node as Record<string, unknown>)[step], copy);
  const record = parent as Record<string, unknown>;
  if (value === REMOVED) delete record[key];
  else record[key] = value;
  return copy;
}

const policies: DeploymentPolicies = bundledConfig().policies;

function refusal(parse: () => unknown): ConfigIssue[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

function issueAt(issues: ConfigIssue[], path: string): ConfigIssue {
  const issue = issues.find((candidate) => candidate.path === path);
  if (!issue) throw new Error(`no issue at ${path}; got ${issues.map((each) => each.path).join(', ')}`);
  return issue;
}

function refuseFleet(fleet: unknown, path: string): ConfigIssue {
  return issueAt(
    refusal(() => parseFleet(fleet, 'fleet.json', policies)),
    path,
  );
}

const customerIndex = (id: string) => customersJson.customers.findIndex((customer) => customer.id === id);

describe('configuration', () => {
  it('accepts the shipped policies, release policies and sample fleet', () => {
    const config = bundledConfig();
    const fleet = sampleFleet(config.policies);

    expect(config.release.phases.map((phase) => phase.name)).toEqual([
      'demo',
      'startup',
      'standard',
      'enterprise',
    ]);
    expect(fleet.customers).toHaveLength(44);
  });

  it('holds the workflow document’s numbers for every policy', () => {
    const { policies: shipped } = bundledConfig();

    const numbers = Object.fromEntries(
      Object.entries(shipped).map(([name, policy]) => [
        name,
        [
          policy.rolloutDelayDays,
          policy.testingPeriodDays,
          policy.advanceNoticeDays,
          policy.rollback.windowDays,
        ],
      ]),
    );

    expect(numbers).toEqual({
      demo: [0, 1, 0, 1],
      startup: [7, 7, 3, 7],
      standard: [30, 14, 7, 14],
      enterprise: [60, 30, 14, 30],
    });
  });

  it('names the file, the path and a fix in every line of the message', () => {
    const fleet = changed(customersJson, ['customers', 3, 'maintenanceWindow', 'timeZone'], 'Mars/Olympus');

    const error = new ConfigError(refusal(() => parseFleet(fleet, 'fleet.json', policies)));

    expect(error.message).toContain(
      'fleet.json: customers[3].maintenanceWindow.timeZone: unknown time zone "Mars/Olympus". Fix: use an IANA time zone name',
    );
  });

  it('refuses a policies file that lacks one of the four policies', () => {
    const file = changed(policiesJson, ['policies', 'startup'], REMOVED);

    const issue = issueAt(
      refusal(() => parseDeploymentPolicies(file, 'policies.json')),
      'policies.startup',
    );

    expect(issue).toMatchObject({ file: 'policies.json', fix: 'add "startup"' });
  });

  it('refuses a policies file with a fifth policy', () => {
    const file = changed(policiesJson, ['policies', 'premium'], policiesJson.policies.standard);

    const issue = issueAt(
      refusal(() => parseDeploymentPolicies(file, 'policies.json')),
      'policies',
    );

    expect(issue.fix).toContain('remove "premium"');
  });

  it('refuses a batch percentage above 100', () => {
    const file = changed(policiesJson, ['policies', 'standard', 'batchSize', 'percent'], 250);

    const issues = refusal(() => parseDeploymentPolicies(file, 'policies.json'));

    expect(issueAt(issues, 'policies.standard.batchSize.percent').fix).toBe('use at most 100');
  });

  it('refuses a phase for an unknown policy', () => {
    const file = changed(releaseJson, ['phases', 1, 'policy'], 'gold');

    const issue = issueAt(
      refusal(() => parseReleasePolicies(file, 'release.json', policies)),
      'phases[1].policy',
    );

    expect(issue).toMatchObject({
      problem: 'unknown policy "gold"',
      fix: 'use one of demo, startup, standard, enterprise',
    });
  });

  it('sweeps health every 6 hours and calls a customer silent after 24 hours without a report', () => {
    expect(bundledConfig().release.healthSweep).toEqual({ rateMinutes: 360, silentAfterHours: 24 });
  });

  it.each([
    { field: 'rateMinutes', value: 0, fix: 'use at least 1' },
    { field: 'rateMinutes', value: 2880, fix: 'use at most 1440' },
    { field: 'silentAfterHours', value: -1, fix: 'use at least 1' },
  ])('refuses a health sweep $field of $value', ({ field, value, fix }) => {
    const file = changed(releaseJson, ['healthSweep', field], value);

    const issue = issueAt(
      refusal(() => parseReleasePolicies(file, 'release.json', policies)),
      `healthSweep.${field}`,
    );

    expect(issue.fix).toBe(fix);
  });

  it('staggers deployments sharing a window by a minute unless the release policies say otherwise', () => {
    expect(bundledConfig().release.deploymentStaggerSeconds ?? 60).toBe(60);
    const file = changed(releaseJson, ['deploymentStaggerSeconds'], 300);

    expect(parseReleasePolicies(file, 'release.json', policies).deploymentStaggerSeconds).toBe(300);
  });

  it.each([
    { value: -1, problem: 'deploymentStaggerSeconds cannot be negative' },
    { value: 7200, problem: 'deploymentStaggerSeconds is at most 3600 (an hour)' },
    { value: 1.5, problem: 'deploymentStaggerSeconds 1.5 is not a whole number of seconds' },
    { value: '60', problem: 'deploymentStaggerSeconds "60" is not a whole number of seconds' },
  ])('refuses a deployment stagger of $value, saying what to write', ({ value, problem }) => {
    const file = changed(releaseJson, ['deploymentStaggerSeconds'], value);

    expect(
      issueAt(
        refusal(() => parseReleasePolicies(file, 'release.json', policies)),
        'deploymentStaggerSeconds',
      ),
    ).toEqual({
      file: 'release.json',
      path: 'deploymentStaggerSeconds',
      problem,
      fix: 'give the seconds between deployments sharing a window as a whole number from 0 to 3600, e.g. 60',
    });
  });

  it('refuses a release policies file without its health sweep', () => {
    const file = changed(releaseJson, ['healthSweep'], REMOVED);

    expect(
      issueAt(
        refusal(() => parseReleasePolicies(file, 'release.json', policies)),
        'healthSweep',
      ),
    ).toMatchObject({ problem: 'missing required field "healthSweep"', fix: 'add "healthSweep"' });
  });

  it('refuses two phases with the same name', () => {
    const file = changed(releaseJson, ['phases', 2, 'name'], 'startup');

    const issue = issueAt(
      refusal(() => parseReleasePolicies(file, 'release.json', policies)),
      'phases[2].name',
    );

    expect(issue.fix).toBe('give every phase its own name');
  });

  it('refuses a phase that does not start when the previous one ends', () => {
    const file = changed(releaseJson, ['phases', 2, 'startDay'], 10);

    const issue = issueAt(
      refusal(() => parseReleasePolicies(file, 'release.json', policies)),
      'phases[2].startDay',
    );

    expect(issue.fix).toContain('start it on day 8');
  });

  it('refuses phases that leave a policy without a rollout', () => {
    const file = changed(releaseJson, ['phases'], releaseJson.phases.slice(0, 3));

    const issue = issueAt(
      refusal(() => parseReleasePolicies(file, 'release.json', policies)),
      'phases',
    );

    expect(issue.fix).toBe('add a phase with "policy": "enterprise"');
  });

  it('refuses a customer on an unknown policy', () => {
    const fleet = changed(customersJson, ['customers', 5, 'policy'], 'platinum');

    expect(refuseFleet(fleet, 'customers[5].policy').problem).toBe('unknown policy "platinum"');
  });

  it('refuses an enterprise customer without an approver', () => {
    const index = customerIndex('financefirst-bank');
    const fleet = changed(customersJson, ['customers', index, 'approvers'], []);

    const issue = refuseFleet(fleet, `customers[${index}].approvers`);

    expect(issue.problem).toContain('FinanceFirst Bank is on the enterprise policy, which requires approval');
  });

  it('refuses a window that opens on no day', () => {
    const fleet = changed(customersJson, ['customers', 7, 'maintenanceWindow', 'days'], []);

    expect(refuseFleet(fleet, 'customers[7].maintenanceWindow.days').fix).toContain('list the weekdays');
  });

  it.each([0, 1441])('refuses a window of %i minutes', (minutes) => {
    const fleet = changed(customersJson, ['customers', 7, 'maintenanceWindow', 'durationMinutes'], minutes);

    const issue = refuseFleet(fleet, 'customers[7].maintenanceWindow.durationMinutes');

    expect(issue.fix).toBe('give the window a length between 1 and 1440 minutes');
  });

  it('refuses a start time that is not HH:mm', () => {
    const fleet = changed(customersJson, ['customers', 7, 'maintenanceWindow', 'start'], '25:00');

    const issue = refuseFleet(fleet, 'customers[7].maintenanceWindow.start');

    expect(issue.problem).toBe('"25:00" is not a time of day in HH:mm');
  });

  it('refuses a duplicate customer id, naming both places', () => {
    const fleet = changed(customersJson, ['customers', 9, 'id'], customersJson.customers[4]?.id);

    const issue = refuseFleet(fleet, 'customers[9].id');

    expect(issue.problem).toContain('also customers[4]');
    expect(issue.fix).toBe('give every customer a unique id');
  });

  it('refuses a customer id longer than 64 characters, which could not name its rollout execution', () => {
    const fleet = changed(customersJson, ['customers', 2, 'id'], `acme-${'x'.repeat(60)}`);

    const issue = refuseFleet(fleet, 'customers[2].id');

    expect(issue.problem).toBe('customer id of 65 characters is longer than 64');
    expect(issue.fix).toContain('shorten the id to at most 64 characters');
  });

  it('accepts a customer id of exactly 64 characters', () => {
    const fleet = changed(customersJson, ['customers', 2, 'id'], `acme-${'x'.repeat(59)}`);

    expect(() => parseFleet(fleet, 'fleet.json', policies)).not.toThrow();
  });

  it('refuses an unknown time zone', () => {
    const fleet = changed(
      customersJson,
      ['customers', 2, 'maintenanceWindow', 'timeZone'],
      'Europe/Atlantis',
    );

    const issue = refuseFleet(fleet, 'customers[2].maintenanceWindow.timeZone');

    expect(issue.problem).toBe('unknown time zone "Europe/Atlantis"');
  });

  it('refuses an invalid contact email', () => {
    const fleet = changed(customersJson, ['customers', 2, 'contacts', 0, 'email'], 'ops-at-example.com');

    expect(refuseFleet(fleet, 'customers[2].contacts[0].email').fix).toBe(
      'write an address like ops@example.com',
    );
  });

  it('refuses a current version that is not a tag', () => {
    const fleet = changed(customersJson, ['customers', 2, 'currentVersion'], '1.0');

    expect(refuseFleet(fleet, 'customers[2].currentVersion').problem).toBe(
      '"1.0" is not a version tag like v1.0.0',
    );
  });

  it('refuses an unknown key instead of ignoring a typo', () => {
    const fleet = changed(customersJson, ['customers', 2, 'maintenanceWindow', 'duration'], 60);

    expect(refuseFleet(fleet, 'customers[2].maintenanceWindow').fix).toContain('remove "duration"');
  });

  it('reports every broken customer at once', () => {
    const oneBroken = changed(customersJson, ['customers', 1, 'maintenanceWindow', 'timeZone'], 'Nowhere');
    const fleet = changed(oneBroken, ['customers', 2, 'maintenanceWindow', 'start'], '7pm');

    const issues = refusal(() => parseFleet(fleet, 'fleet.json', policies));

    expect(issues.map((issue) => issue.path)).toEqual([
      'customers[1].maintenanceWindow.timeZone',
      'customers[2].maintenanceWindow.start',
    ]);
  });

  it('names a fleet file that does not exist', () => {
    const issues = refusal(() => loadFleet('/nowhere/customers.json', policies));

    expect(issueAt(issues, '(root)')).toMatchObject({
      file: '/nowhere/customers.json',
      problem: 'file not found',
    });
  });

  it('names a fleet file that is not JSON', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fleet-')), 'customers.json');
    writeFileSync(file, '{ "customers": [ ');

    const issue = issueAt(
      refusal(() => loadFleet(file, policies)),
      '(root)',
    );

    expect(issue.problem).toMatch(/^not valid JSON/);
    expect(issue.file).toBe(file);
  });

  it('loads the configuration directory from disk', () => {
    const config = loadConfig(join(import.meta.dirname, '../../config'));

    expect(config).toEqual(bundledConfig());
  });
});
