import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Target } from '../../cli/target.js';
import { tickEveryItem } from '../../lambdas/application/checklist.js';
import { CHECKLIST_ITEM_IDS } from '../../lambdas/core/checklist.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { getRelease } from '../../lambdas/store/releases.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import {
  givenCompletedStep,
  givenGate,
  givenPausedByGate,
  givenStartedRelease,
} from '../application/support/seeded-release.js';
import { type CliRun, runCapturing } from '../support/cli.js';
import { startReleaseTable } from './support/release-table.js';

// checklist, start-phase, create-tag and validate run in-process on a target over a dynalite table; only
// starting the release execution is faked (the calls are recorded).

let database: LocalDynamoDb;
let time: string;
let versionNumber = 30;
let version: string;
let started: { version: string; input: { version: string; startAt: string } }[];
let scheduled: { version: string; input: { version: string; startAt: string }; at: string }[];
let closed: number;

const target: Target = {
  kind: 'local',
  description: 'the test table',
  now: async () => time,
  async startRelease(name, input) {
    const alreadyStarted = started.some((call) => call.version === name);
    started.push({ version: name, input });
    return {
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:release:${name}`,
      alreadyStarted,
    };
  },
  async scheduleReleaseStart(name, input, at) {
    scheduled.push({ version: name, input, at });
  },
  async close() {
    closed += 1;
  },
};

function run(...argv: string[]): Promise<CliRun> {
  return runCapturing(argv, {
    connect: async () => {
      useClock({ now: () => time });
      return target;
    },
  });
}

function expectRefusal(result: CliRun, exitCode: number, pattern: RegExp): void {
  expect(result.exitCode).toBe(exitCode);
  expect(result.stderr).toMatch(/^error: /m);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  database = await startReleaseTable();
});

afterAll(async () => {
  useRealClock();
  resetClients();
  await database.stop();
});

beforeEach(() => {
  versionNumber += 1;
  version = `v1.${versionNumber}.0`;
  time = '2027-03-01T09:00:00Z';
  started = [];
  scheduled = [];
  closed = 0;
});

describe('checklist', () => {
  it('shows the three sections with every item open, and how to tick one', async () => {
    const result = await run('checklist', '--version', version);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Pre-release checklist · ${version} · 0 of 22 ticked`);
    expect(result.stdout).toContain(
      'Development Phase\n  [ ] backward-compatible: All new features backward compatible',
    );
    expect(result.stdout).toContain('Release Preparation');
    expect(result.stdout).toContain(`Tick an item: checklist --version ${version} --tick ITEM --by NAME`);
    expect(closed).toBe(1);
  });

  it('ticks an item with who and the evidence, and says so when it is ticked already', async () => {
    const ticked = await run(
      'checklist',
      '--version',
      version,
      '--tick',
      'unit-tests-pass',
      '--by',
      'dana',
      '--evidence',
      'https://ci.example.com/runs/41',
    );
    const again = await run('checklist', '--version', version, '--tick', 'unit-tests-pass', '--by', 'lee');
    const shown = await run('checklist', '--version', version);

    expect(ticked.exitCode).toBe(0);
    expect(ticked.stdout).toBe(
      `Ticked 'Unit tests pass (100%)' for ${version} (by dana); 21 item(s) still open\n  evidence: https://ci.example.com/runs/41\n`,
    );
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('was already ticked');
    expect(shown.stdout).toContain(
      '[x] unit-tests-pass: Unit tests pass (100%) — dana, 2027-03-01T09:00:00Z, https://ci.example.com/runs/41',
    );
  });

  it('prints the documented JSON shape', async () => {
    await run('checklist', '--version', version, '--tick', 'code-review-completed', '--by', 'dana');

    const result = await run('checklist', '--version', version, '--json');

    const checklist = JSON.parse(result.stdout);
    expect(checklist).toMatchObject({ version, complete: false, ticked: 1, total: 22 });
    expect(checklist.open).toHaveLength(21);
    expect(checklist.sections[0].items[8]).toEqual({
      id: 'code-review-completed',
      text: 'Code review completed',
      tick: { by: 'dana', at: '2027-03-01T09:00:00Z' },
    });
  });

  it('refuses an unknown item with the list of ids (usage, exit 2), ticking nothing', async () => {
    const result = await run('checklist', '--version', version, '--tick', 'tests-pass', '--by', 'dana');

    expectRefusal(result, 2, /unknown checklist item 'tests-pass'/);
    expect(result.stderr).toContain('unit-tests-pass, integration-tests-pass');
    expect((await run('checklist', '--version', version, '--json')).stdout).toContain('"ticked": 0');
  });
});

describe('start-phase --phase demo', () => {
  it('refuses to start while checklist items are open, listing them and the tick command', async () => {
    await run('checklist', '--version', version, '--tick', 'backward-compatible', '--by', 'dana');

    const result = await run('start-phase', '--version', version, '--phase', 'demo');

    expectRefusal(result, 1, /cannot start: 21 of 22 pre-release checklist items are open/);
    expect(result.stderr).toContain('  migrations-reversible: Database migrations are reversible');
    expect(result.stderr).not.toContain('backward-compatible:');
    expect(result.stderr).toContain(`checklist --version ${version} --tick ITEM --by NAME`);
    expect(started).toEqual([]);
  });

  it('starts the release at the target’s time once every item is ticked; a second call says it runs', async () => {
    await tickEveryItem(version, 'dana');

    const first = await run('start-phase', '--version', version, '--phase', 'demo', '--by', 'dana');
    const second = await run('start-phase', '--version', version, '--phase', 'demo', '--by', 'dana');
    await givenStartedRelease(version);
    const third = await run('start-phase', '--version', version, '--phase', 'demo', '--json');

    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe(`Started ${version} at 2027-03-01T09:00:00Z: phase demo first (by dana)\n`);
    expect(started[0]).toEqual({ version, input: { version, startAt: '2027-03-01T09:00:00Z' } });
    expect(second).toMatchObject({ exitCode: 0, stdout: `${version} is already started; nothing changed\n` });
    expect(third.exitCode).toBe(0);
    expect(JSON.parse(third.stdout)).toMatchObject({ outcome: 'already-started', changed: false });
    expect(started).toHaveLength(2);
  });

  it('starts with items open on --override --reason, recording who, why and which items were open', async () => {
    const result = await run(
      'start-phase',
      '--version',
      version,
      '--phase',
      'demo',
      '--override',
      '--reason',
      'security fix, checklist signed on paper',
      '--by',
      'dana',
      '--json',
    );
    const checklist = JSON.parse((await run('checklist', '--version', version, '--json')).stdout);

    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'started', changed: true });
    expect(checklist.override).toEqual({
      by: 'dana',
      reason: 'security fix, checklist signed on paper',
      at: '2027-03-01T09:00:00Z',
      openItems: CHECKLIST_ITEM_IDS,
    });
    expect(started).toHaveLength(1);
  });

  it('needs a reason for an override (usage, exit 2)', async () => {
    const result = await run('start-phase', '--version', version, '--phase', 'demo', '--override');

    expectRefusal(result, 2, /--override needs a reason/);
    expect(started).toEqual([]);
  });

  it('schedules the start with --at, once; a start in the past is refused', async () => {
    await tickEveryItem(version, 'dana');

    const result = await run(
      'start-phase',
      '--version',
      version,
      '--phase',
      'demo',
      '--at',
      '2027-03-08T09:00:00Z',
    );
    const again = await run(
      'start-phase',
      '--version',
      version,
      '--phase',
      'demo',
      '--at',
      '2027-03-08T09:00:00Z',
    );
    const now = await run('start-phase', '--version', version, '--phase', 'demo');

    expect(result).toMatchObject({ exitCode: 0 });
    expect(result.stdout).toContain(`Scheduled ${version} to start at 2027-03-08T09:00:00Z`);
    expect(scheduled).toEqual([
      { version, input: { version, startAt: '2027-03-08T09:00:00Z' }, at: '2027-03-08T09:00:00Z' },
    ]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('already scheduled to start at 2027-03-08T09:00:00Z');
    expectRefusal(now, 1, /scheduled to start at 2027-03-08T09:00:00Z/);
    expect(started).toEqual([]);

    const past = await run(
      'start-phase',
      '--version',
      `v1.${versionNumber + 100}.0`,
      '--phase',
      'demo',
      '--override',
      '--reason',
      'test',
      '--at',
      '2027-02-01T09:00:00Z',
    );
    expectRefusal(past, 2, /is not in the future/);
  });
});

describe('start-phase for a later phase', () => {
  it('releases a release paused at a gate before the phase, recording who', async () => {
    await givenStartedRelease(version);
    await givenCompletedStep(version, 'startup_1', '2027-03-04T10:00:00Z');
    await givenGate(version, 'startup', false, '2027-03-09T09:00:00Z');
    await givenPausedByGate(version, 'startup', ['startup_1', 'startup_2']);
    time = '2027-03-09T10:00:00Z';

    const result = await run('start-phase', '--version', version, '--phase', 'standard', '--by', 'dana');

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      `Released ${version}, paused in startup (gate startup failed), so standard can open`,
    );
    const record = await getRelease(version);
    expect(record?.status).toBe('running');
    expect(started).toEqual([]);
  });

  it('says when the phase opens while the release runs before it', async () => {
    const schedule = await givenStartedRelease(version);
    time = '2027-03-03T00:00:00Z';

    const result = await run('start-phase', '--version', version, '--phase', 'enterprise', '--json');

    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      outcome: 'opens-later',
      changed: false,
      opensAt: schedule.phases.enterprise?.startAt,
    });
  });

  it('refuses a release not started (exit 1), naming the command that starts it', async () => {
    const result = await run('start-phase', '--version', version, '--phase', 'standard');

    expectRefusal(
      result,
      1,
      new RegExp(`has not been started.*start-phase --version ${version} --phase demo`),
    );
  });

  it('refuses an unknown phase (usage, exit 2)', async () => {
    expectRefusal(
      await run('start-phase', '--version', version, '--phase', 'beta'),
      2,
      /unknown phase 'beta'/,
    );
  });
});

describe('tag-based-deploy.sh create-tag and validate', () => {
  it('registers a version once, and says so the second time', async () => {
    const first = await run('create-tag', '--version', version, '--by', 'dana');
    const second = await run('create-tag', '--version', version, '--json');

    expect(first).toMatchObject({
      exitCode: 0,
      stdout: `Registered ${version} (release notes docs/releases/${version}.md, by dana)\n`,
    });
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ changed: false, createdBy: 'dana' });
  });

  it('exits 0 when the version may go to the policy and 1 with each reason when not', async () => {
    await givenStartedRelease(version);
    await givenCompletedStep(version, 'demo_1', '2027-03-01T12:00:00Z');
    await givenGate(version, 'demo_1', true, '2027-03-01T12:00:00Z');
    await givenGate(version, 'demo', true, '2027-03-02T09:00:00Z');
    time = '2027-03-03T00:00:00Z';

    const startup = await run('validate', '--version', version, '--policy', 'startup');
    const enterprise = await run('validate', '--version', version, '--policy', 'enterprise', '--json');

    expect(startup.exitCode).toBe(0);
    expect(startup.stdout).toContain(`${version} may go to startup customers now`);
    expect(enterprise.exitCode).toBe(1);
    const validation = JSON.parse(enterprise.stdout);
    expect(validation.allowed).toBe(false);
    expect(validation.reasons).toContain('startup: step startup_1 has not completed');
    expect(enterprise.stderr).toMatch(/^error: .* may not go to enterprise customers yet/);
  });

  it('names the script that ran it in usage errors', async () => {
    const { exitCode, stderr } = await runCapturing(['create-tag'], { programName: 'tag-based-deploy.sh' });

    expect(exitCode).toBe(2);
    expect(stderr).toContain("run 'tag-based-deploy.sh --help' for usage");
  });
});
