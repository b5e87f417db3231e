import { posix } from 'node:path';
import { openItems } from '../core/checklist.js';
import { UsageError, UserFacingError } from '../core/errors.js';
import {
  type GateStatus,
  type PhaseEvidence,
  type Validation,
  validateForPolicy,
} from '../core/policy-validation.js';
import { rolloutShape } from '../core/rollout-shape.js';
import { assertMinorRelease, parseVersion } from '../core/versions.js';
import { now } from '../shared/clock.js';
import { getAudit } from '../store/audit.js';
import { getChecklist } from '../store/checklists.js';
import { getRelease, type ReleaseRecord } from '../store/releases.js';
import { getStep } from '../store/steps.js';
import { getVersion, putVersionIfAbsent, setGitTag, type VersionRecord } from '../store/versions.js';
import { releaseQuality } from './gates.js';
import { stepIsComplete } from './outcomes.js';
import { liveFleet } from './plan.js';
import { configOf } from './release-config.js';

// The version registry (`tag-based-deploy.sh create-tag`) and whether a version may go to a policy's
// customers now (`tag-based-deploy.sh validate`).

/** Where a version's release notes are, unless `--notes` says otherwise. */
export function defaultNotesPath(version: string): string {
  return `docs/releases/${version}.md`;
}

/** The git checkout `create-tag --git` tags (the caller's working directory). */
export interface GitRepository {
  /** The commit HEAD points at; a UserFacingError when the directory is not a git checkout. */
  head(): Promise<string>;
  /** The commit a tag points at, or undefined when the tag does not exist. */
  tagCommit(tag: string): Promise<string | undefined>;
  createAnnotatedTag(tag: string, message: string): Promise<void>;
}

/**
 * `create-tag --json`: { version, notesPath, createdBy, createdAt, changed, gitTag?: { tag, commit,
 * changed }, message }. `changed` is false when the version was registered already.
 */
export interface CreatedVersion {
  version: string;
  notesPath: string;
  createdBy: string;
  createdAt: string;
  changed: boolean;
  gitTag?: { tag: string; commit: string; changed: boolean };
  message: string;
}

export interface CreateVersionRequest {
  version: string;
  /** Omitted: the registered path, or `defaultNotesPath` for a new version. */
  notesPath?: string;
  by: string;
  git?: GitRepository;
}

export async function createVersion(request: CreateVersionRequest): Promise<CreatedVersion> {
  const { version, by } = request;
  parseVersion(version);
  const notesPath = request.notesPath === undefined ? undefined : notesPathOf(request.notesPath);
  const existing = await getVersion(version);
  if (existing) assertSameNotes(existing, notesPath);
  else assertMinorRelease(version, await liveFleet());

  // A tag that cannot be made is refused before anything is registered.
  const plannedTag = request.git ? await plannedGitTag(request.git, version) : undefined;

  const record: VersionRecord = existing ?? {
    version,
    notesPath: notesPath ?? defaultNotesPath(version),
    createdBy: by,
    createdAt: now(),
  };
  let changed = false;
  let stored = record;
  if (!existing) {
    changed = await putVersionIfAbsent(record);
    if (!changed) {
      // Registered meanwhile by someone else: theirs stands, as long as it says the same.
      stored = (await getVersion(version)) ?? record;
      assertSameNotes(stored, notesPath);
    }
  }

  let gitTag: CreatedVersion['gitTag'];
  if (request.git && plannedTag) {
    if (plannedTag.exists) gitTag = { tag: version, commit: plannedTag.commit, changed: false };
    else {
      await request.git.createAnnotatedTag(
        version,
        `SecureWatch ${version}\n\nRelease notes: ${stored.notesPath}\nCreated by ${by}`,
      );
      gitTag = { tag: version, commit: plannedTag.commit, changed: true };
    }
    if (!stored.gitTag) await setGitTag(version, { commit: gitTag.commit, by, at: now() });
  }

  const registered = changed
    ? `Registered ${version} (release notes ${stored.notesPath}, by ${stored.createdBy})`
    : `${version} is already registered (release notes ${stored.notesPath}, by ${stored.createdBy} at ${stored.createdAt}); nothing changed`;
  const tagged = gitTag
    ? gitTag.changed
      ? `; created the annotated git tag ${version} on ${gitTag.commit.slice(0, 12)}`
      : `; the git tag ${version} already points at ${gitTag.commit.slice(0, 12)}`
    : '';
  return {
    version,
    notesPath: stored.notesPath,
    createdBy: stored.createdBy,
    createdAt: stored.createdAt,
    changed: changed || Boolean(gitTag?.changed),
    ...(gitTag ? { gitTag } : {}),
    message: `${registered}${tagged}`,
  };
}

function notesPathOf(path: string): string {
  const trimmed = path.trim();
  if (!trimmed)
    throw new UsageError(
      '--notes must not be empty. Fix: give the release notes path, e.g. docs/releases/v1.1.0.md',
    );
  return posix.normalize(trimmed.replaceAll('\\', '/'));
}

function assertSameNotes(existing: VersionRecord, notesPath: string | undefined): void {
  if (notesPath === undefined || notesPath === existing.notesPath) return;
  throw new UserFacingError(
    `${existing.version} is already registered with release notes ${existing.notesPath} (by ${existing.createdBy} at ${existing.createdAt}); a registered version keeps its notes path. Fix: move the notes to ${existing.notesPath}, or run create-tag without --notes`,
  );
}

async function plannedGitTag(git: GitRepository, tag: string): Promise<{ commit: string; exists: boolean }> {
  const head = await git.head();
  const tagged = await git.tagCommit(tag);
  if (tagged === undefined) return { commit: head, exists: false };
  if (tagged === head) return { commit: head, exists: true };
  throw new UserFacingError(
    `the git tag ${tag} already exists on commit ${tagged.slice(0, 12)}, not on HEAD (${head.slice(0, 12)}); nothing was registered or tagged. Fix: check out ${tagged.slice(0, 12)} to register that commit, or leave out --git`,
  );
}

/** Whether `version` may go to `policy`'s customers now, and why (see core/policy-validation.ts). */
export async function validateRelease(version: string, policy: string): Promise<Validation> {
  parseVersion(version);
  const config = await configOf(version);
  const phases = rolloutShape(config);
  const index = config.release.phases.findIndex((phase) => phase.policy === policy);
  if (index < 0)
    throw new UsageError(
      `unknown policy '${policy}'. Fix: use one of ${config.release.phases.map((phase) => phase.policy).join(', ')}`,
    );
  const record = await getRelease(version);
  const earlierPhases = record
    ? await Promise.all(
        phases.slice(0, index).map(async (phase): Promise<PhaseEvidence> => {
          const definition = config.release.phases.find((candidate) => candidate.name === phase.name);
          const steps = await Promise.all(
            phase.steps.map(async (shape) => {
              const step = await getStep(version, shape.key);
              return {
                key: shape.key,
                complete: step ? stepIsComplete(step) : false,
                gate: await gateStatus(record, shape.key),
                ...(step?.signalledAt ? { completedAt: step.signalledAt } : {}),
              };
            }),
          );
          return {
            name: phase.name,
            steps,
            phaseGate: await gateStatus(record, phase.name),
            plannedEndAt: record.schedule.phases[phase.name]?.endAt,
            testingPeriodDays: config.policies[definition?.policy ?? phase.name].testingPeriodDays,
          };
        }),
      )
    : phases.slice(0, index).map((phase) => ({
        name: phase.name,
        steps: [],
        phaseGate: 'not-evaluated' as const,
        testingPeriodDays: 0,
      }));
  const quality = record ? await releaseQuality(record) : undefined;
  const checklist = record ? undefined : await getChecklist(version);
  const openChecklistItems =
    checklist && !checklist.override ? openItems(checklist.ticks).map((item) => item.id) : [];
  return validateForPolicy({
    version,
    policy,
    releaseStatus: record?.status,
    earlierPhases,
    criticalIssues: {
      reported: quality?.criticalIssues ?? 0,
      accepted: record?.acceptedQuality?.criticalIssues ?? 0,
    },
    openChecklistItems,
    now: now(),
  });
}

/**
 * A gate's last evaluation (its audit record). A failed gate pauses the release until someone decides;
 * once the release is no longer paused by it, the failure was accepted (resume) — or the release ended.
 */
async function gateStatus(record: ReleaseRecord, gate: string): Promise<GateStatus> {
  const audit = await getAudit(record.release, `gate#${gate}`);
  if (!audit) return 'not-evaluated';
  if (audit.passed === true) return 'passed';
  const pausedByIt = record.status === 'paused' && record.pause?.by === `gate#${gate}`;
  return pausedByIt ? 'failed' : 'accepted';
}
