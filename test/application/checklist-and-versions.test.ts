import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gitRepository } from '../../cli/git-repository.js';
import {
  checklistBlockers,
  checklistOf,
  tickChecklistItem,
  tickEveryItem,
} from '../../lambdas/application/checklist.js';
import { resume } from '../../lambdas/application/halt.js';
import { createVersion, validateRelease } from '../../lambdas/application/versions.js';
import { CHECKLIST_ITEM_IDS } from '../../lambdas/core/checklist.js';
import { UsageError, UserFacingError } from '../../lambdas/core/errors.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { getVersion } from '../../lambdas/store/versions.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { importSampleFleet, startReleaseTable } from '../local/support/release-table.js';
import {
  givenCompletedStep,
  givenCriticalErrorReported,
  givenGate,
  givenPausedByGate,
  givenStartedRelease,
} from './support/seeded-release.js';

// The pre-release checklist, the version registry and `validate`, on a real (dynalite) table.

let database: LocalDynamoDb;
let time = '2027-02-28T10:00:00Z';
let versionNumber = 10;
let version: string;

beforeAll(async () => {
  database = await startReleaseTable();
  await importSampleFleet();
  useClock({ now: () => time });
});

afterAll(async () => {
  useRealClock();
  resetClients();
  await database.stop();
});

beforeEach(() => {
  // Each test its own release, so none sees another's ticks.
  versionNumber += 1;
  version = `v1.${versionNumber}.0`;
  time = '2027-02-28T10:00:00Z';
});

describe('the pre-release checklist of a release', () => {
  it('starts with all 22 items open', async () => {
    const checklist = await checklistOf(version);

    expect(checklist).toMatchObject({ version, complete: false, ticked: 0, total: 22 });
    expect(checklist.open).toEqual(CHECKLIST_ITEM_IDS);
    expect(checklist.sections.map((section) => section.title)).toEqual([
      'Development Phase',
      'Testing Phase',
      'Release Preparation',
    ]);
  });

  it('ticks an item with who, when and the evidence', async () => {
    const result = await tickChecklistItem(
      version,
      'migrations-reversible',
      'dana',
      'https://ci.example.com/runs/7',
    );

    expect(result).toMatchObject({
      changed: true,
      tick: { by: 'dana', at: '2027-02-28T10:00:00Z', evidence: 'https://ci.example.com/runs/7' },
    });
    expect(result.message).toBe(
      `Ticked 'Database migrations are reversible' for ${version} (by dana); 21 item(s) still open`,
    );
    const item = (await checklistOf(version)).sections[0]?.items.find(
      (each) => each.id === 'migrations-reversible',
    );
    expect(item?.tick).toEqual({
      by: 'dana',
      at: '2027-02-28T10:00:00Z',
      evidence: 'https://ci.example.com/runs/7',
    });
  });

  it('says an item is ticked already and keeps the first tick', async () => {
    await tickChecklistItem(version, 'code-review-completed', 'dana');
    time = '2027-02-28T11:00:00Z';

    const again = await tickChecklistItem(version, 'code-review-completed', 'lee', 'https://review/2');

    expect(again).toMatchObject({ changed: false, tick: { by: 'dana', at: '2027-02-28T10:00:00Z' } });
    expect(again.message).toContain('was already ticked for');
    expect(again.message).toContain('nothing changed');
  });

  it('refuses an unknown item, listing the valid ids, and changes nothing', async () => {
    const tick = tickChecklistItem(version, 'backwards-compatible', 'dana');

    await expect(tick).rejects.toBeInstanceOf(UsageError);
    await expect(tick).rejects.toThrow(/backward-compatible, migrations-reversible/);
    expect((await checklistOf(version)).ticked).toBe(0);
  });

  it('records one tick when many people tick the same item at once', async () => {
    const racers = Array.from({ length: 10 }, (_, index) =>
      tickChecklistItem(version, 'security-scans-clean', `engineer-${index}`),
    );

    const results = await Promise.all(racers);

    expect(results.filter((result) => result.changed)).toHaveLength(1);
    const kept = results.find((result) => result.changed)?.tick.by;
    expect(results.every((result) => result.tick.by === kept)).toBe(true);
  });

  it('blocks the start until every item is ticked; the rehearsal ticks them all as "rehearsal"', async () => {
    await tickChecklistItem(version, 'backward-compatible', 'dana');
    expect(await checklistBlockers(version)).toHaveLength(21);

    const ticked = await tickEveryItem(version, 'rehearsal');

    expect(ticked).toEqual({ ticked: 21 });
    expect(await checklistBlockers(version)).toEqual([]);
    const checklist = await checklistOf(version);
    expect(checklist.complete).toBe(true);
    expect(checklist.sections[0]?.items[0]?.tick?.by).toBe('dana');
    expect(checklist.sections[2]?.items[0]?.tick?.by).toBe('rehearsal');
    expect(await tickEveryItem(version, 'rehearsal')).toEqual({ ticked: 0 });
  });
});

describe('registering a version (create-tag)', () => {
  it('records the release notes path, who created it and when', async () => {
    const created = await createVersion({ version, by: 'dana' });

    expect(created).toMatchObject({
      version,
      notesPath: `docs/releases/${version}.md`,
      createdBy: 'dana',
      createdAt: '2027-02-28T10:00:00Z',
      changed: true,
    });
    expect(await getVersion(version)).toMatchObject({
      notesPath: `docs/releases/${version}.md`,
      createdBy: 'dana',
    });
  });

  it('says a version is registered already, with or without the same notes path', async () => {
    await createVersion({ version, notesPath: 'notes/next.md', by: 'dana' });

    const again = await createVersion({ version, notesPath: 'notes/next.md', by: 'lee' });
    const bare = await createVersion({ version, by: 'lee' });

    expect(again).toMatchObject({ changed: false, createdBy: 'dana', notesPath: 'notes/next.md' });
    expect(again.message).toContain('is already registered');
    expect(bare).toMatchObject({ changed: false, notesPath: 'notes/next.md' });
  });

  it('refuses another notes path for a registered version, saying how to go on', async () => {
    await createVersion({ version, by: 'dana' });

    const other = createVersion({ version, notesPath: 'elsewhere.md', by: 'lee' });

    await expect(other).rejects.toThrow(/already registered with release notes docs\/releases\/.*Fix:/);
    expect(await getVersion(version)).toMatchObject({ notesPath: `docs/releases/${version}.md` });
  });

  it('refuses a tag that is not a minor release, registering nothing', async () => {
    await expect(createVersion({ version: 'v1.1.1', by: 'dana' })).rejects.toThrow(/patch release/);
    await expect(createVersion({ version: 'v1.0.0', by: 'dana' })).rejects.toThrow(/not newer/);
    await expect(createVersion({ version: 'release-2', by: 'dana' })).rejects.toThrow(/not a version tag/);
    expect(await getVersion('v1.1.1')).toBeUndefined();
  });

  describe('with --git', () => {
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=Dana', '-c', 'user.email=dana@example.com', ...args], {
        cwd,
        encoding: 'utf8',
      }).trim();
    const checkout = () => {
      const directory = mkdtempSync(join(tmpdir(), 'create-tag-'));
      git(directory, 'init', '-q');
      git(directory, 'commit', '-q', '--allow-empty', '-m', 'first');
      return directory;
    };

    it('creates an annotated tag on HEAD, once', async () => {
      const directory = checkout();

      const created = await createVersion({ version, by: 'dana', git: gitRepository(directory) });
      const again = await createVersion({ version, by: 'dana', git: gitRepository(directory) });

      const head = git(directory, 'rev-parse', 'HEAD');
      expect(created.gitTag).toEqual({ tag: version, commit: head, changed: true });
      expect(git(directory, 'cat-file', '-t', version)).toBe('tag');
      expect(git(directory, 'tag', '-l', '--format=%(contents)', version)).toContain(
        `Release notes: docs/releases/${version}.md`,
      );
      expect(again).toMatchObject({ changed: false, gitTag: { commit: head, changed: false } });
      expect(await getVersion(version)).toMatchObject({ gitTag: { commit: head, by: 'dana' } });
    });

    it('refuses a tag that exists on another commit, registering nothing', async () => {
      const directory = checkout();
      git(directory, 'tag', '-a', version, '-m', 'earlier');
      git(directory, 'commit', '-q', '--allow-empty', '-m', 'second');

      const created = createVersion({ version, by: 'dana', git: gitRepository(directory) });

      await expect(created).rejects.toBeInstanceOf(UserFacingError);
      await expect(created).rejects.toThrow(/already exists on commit .* not on HEAD/);
      expect(await getVersion(version)).toBeUndefined();
    });

    it('refuses a directory that is not a git checkout', async () => {
      const directory = mkdtempSync(join(tmpdir(), 'not-git-'));

      await expect(createVersion({ version, by: 'dana', git: gitRepository(directory) })).rejects.toThrow(
        /is not a git checkout.*leave out --git/,
      );
      expect(await getVersion(version)).toBeUndefined();
    });
  });
});

describe('whether a version may go to a policy now (validate)', () => {
  async function givenDemoAndStartupReleased() {
    await givenStartedRelease(version);
    await givenCompletedStep(version, 'demo_1', '2027-03-01T12:00:00Z');
    await givenGate(version, 'demo_1', true, '2027-03-01T12:00:00Z');
    await givenGate(version, 'demo', true, '2027-03-02T09:00:00Z');
    await givenCompletedStep(version, 'startup_1', '2027-03-04T10:00:00Z');
    await givenGate(version, 'startup_1', true, '2027-03-04T10:00:00Z');
    await givenCompletedStep(version, 'startup_2', '2027-03-07T10:00:00Z');
    await givenGate(version, 'startup_2', true, '2027-03-07T10:00:00Z');
    await givenGate(version, 'startup', true, '2027-03-09T09:00:00Z');
  }

  it('allows standard once demo and startup are released and their testing periods are over', async () => {
    await givenDemoAndStartupReleased();
    time = '2027-03-14T10:00:00Z';

    const validation = await validateRelease(version, 'standard');

    expect(validation).toMatchObject({ allowed: true, reasons: [] });
    expect(validation.phases.map((phase) => [phase.phase, phase.testingEndsAt])).toEqual([
      ['demo', '2027-03-02T12:00:00Z'],
      ['startup', '2027-03-14T10:00:00Z'],
    ]);
  });

  it('refuses enterprise before standard is released, and standard during startup’s testing period', async () => {
    await givenDemoAndStartupReleased();
    time = '2027-03-10T00:00:00Z';

    const standard = await validateRelease(version, 'standard');
    const enterprise = await validateRelease(version, 'enterprise');

    expect(standard.reasons).toEqual([
      'startup: its 7-day testing period ends 2027-03-14T10:00:00Z (deployment ended 2027-03-07T10:00:00Z)',
    ]);
    expect(enterprise.allowed).toBe(false);
    expect(enterprise.reasons).toContain('standard: step standard_1 has not completed');
  });

  it('refuses while a gate before the policy failed and awaits a decision, and allows it once resumed past', async () => {
    await givenDemoAndStartupReleased();
    await givenGate(version, 'startup', false, '2027-03-09T09:00:00Z');
    await givenPausedByGate(version, 'startup', ['startup_1', 'startup_2']);
    time = '2027-03-20T00:00:00Z';

    const paused = await validateRelease(version, 'standard');

    expect(paused.reasons).toEqual(['startup: phase gate failed and awaits a decision']);
    await resume({ release: version }, { reason: 'one flaky customer, fixed', by: 'dana' });
    expect(await validateRelease(version, 'standard')).toMatchObject({ allowed: true, reasons: [] });
  });

  it('refuses while a critical issue is open', async () => {
    await givenDemoAndStartupReleased();
    await givenCriticalErrorReported(version, 'startup_2');
    time = '2027-03-20T00:00:00Z';

    const validation = await validateRelease(version, 'standard');

    expect(validation.reasons).toEqual(['1 critical issue(s) reported and not accepted (1 reported in all)']);
    expect(validation.criticalIssues).toEqual({ reported: 1, accepted: 0, open: 1 });
  });

  it('refuses a release not started, and an unknown policy as a usage error', async () => {
    await tickEveryItem(version, 'dana');

    const validation = await validateRelease(version, 'startup');

    expect(validation.reasons).toEqual([
      `${version} has not been started; it reaches startup customers only after demo`,
    ]);
    await expect(validateRelease(version, 'premium')).rejects.toThrow(
      /unknown policy 'premium'. Fix: use one of demo, startup, standard, enterprise/,
    );
  });

  it('lets a version go to demo customers once its checklist is ticked or overridden', async () => {
    await tickChecklistItem(version, 'backward-compatible', 'dana');

    const open = await validateRelease(version, 'demo');
    await tickEveryItem(version, 'dana');
    const ticked = await validateRelease(version, 'demo');

    expect(open.reasons).toEqual([
      expect.stringMatching(/^21 pre-release checklist item\(s\) open: migrations-reversible, /),
    ]);
    expect(ticked).toMatchObject({ allowed: true, reasons: [] });
  });
});
