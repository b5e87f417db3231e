import { CHECKLIST_ITEMS } from '../core/checklist.js';
import { UsageError, UserFacingError } from '../core/errors.js';
import { laterPhaseStart } from '../core/phase-start.js';
import { rolloutShape } from '../core/rollout-shape.js';
import { parseVersion } from '../core/versions.js';
import type { ChecklistOverride } from '../store/checklists.js';
import { getRelease, type ReleaseRecord } from '../store/releases.js';
import { getStartRequest, putStartRequestIfAbsent } from '../store/versions.js';
import { checklistBlockers, overrideChecklist } from './checklist.js';
import { resume } from './halt.js';
import { configOf } from './release-config.js';

// `start-phase --phase P`: the first phase starts the release execution (once its checklist is ticked, or
// overridden with a reason), now or at a given instant; a later phase releases a release paused before
// it, or says when the phase opens.

/** How the release execution is started on the target (Step Functions on AWS, the local stack's runtime). */
export interface ReleaseStarter {
  /** The target's current time, ISO-8601 UTC. */
  now(): Promise<string>;
  startRelease(
    version: string,
    input: { version: string; startAt: string },
  ): Promise<{ executionArn: string; alreadyStarted: boolean }>;
  scheduleReleaseStart(
    version: string,
    input: { version: string; startAt: string },
    at: string,
  ): Promise<void>;
}

export interface StartPhaseRequest {
  version: string;
  phase: string;
  /** Schedule the start of the release at this instant (first phase only). */
  at?: string;
  /** Start although checklist items are open; needs a reason. */
  override?: boolean;
  reason?: string;
  by: string;
}

export type StartPhaseOutcome =
  | 'started'
  | 'scheduled'
  | 'already-started'
  | 'already-scheduled'
  | 'resumed'
  | 'opens-later'
  | 'open'
  | 'completed';

/**
 * `start-phase --json`: { version, phase, outcome: started | scheduled | already-started | already-scheduled
 * | resumed | opens-later | open | completed, changed, message, startAt?, opensAt?, override?: { by, reason,
 * at, openItems: [itemId] } }. Refusals are errors (exit 1) instead.
 */
export interface StartPhaseResult {
  version: string;
  phase: string;
  outcome: StartPhaseOutcome;
  changed: boolean;
  message: string;
  startAt?: string;
  opensAt?: string;
  override?: ChecklistOverride;
}

export async function startPhase(
  request: StartPhaseRequest,
  starter: ReleaseStarter,
): Promise<StartPhaseResult> {
  parseVersion(request.version);
  const config = await configOf(request.version);
  const phases = config.release.phases.map((phase) => phase.name);
  const index = phases.indexOf(request.phase as (typeof phases)[number]);
  if (index < 0)
    throw new UsageError(`unknown phase '${request.phase}'. Fix: use one of ${phases.join(', ')}`);
  if (request.override && !request.reason?.trim())
    throw new UsageError('--override needs a reason. Fix: add --reason "why it may start with items open"');
  if (index === 0) return startRelease(request, starter);
  if (request.at)
    throw new UsageError(
      `--at schedules the start of the release (phase ${phases[0]}); ${request.phase} opens on the release's own schedule. Fix: leave out --at`,
    );
  if (request.override)
    throw new UsageError(
      `--override overrides the pre-release checklist, which only the first phase (${phases[0]}) checks. Fix: leave out --override`,
    );
  return startLaterPhase(request, phases, starter);
}

async function startRelease(request: StartPhaseRequest, starter: ReleaseStarter): Promise<StartPhaseResult> {
  const { version, phase, by } = request;
  if (request.reason && !request.override)
    throw new UsageError(
      '--reason is kept with --override only. Fix: add --override to start with checklist items open, or leave out --reason',
    );
  const existing = await getRelease(version);
  if (existing) return alreadyStarted(existing, phase);

  const requested = await getStartRequest(version);
  if (requested?.scheduled) {
    if (request.at && Date.parse(request.at) === Date.parse(requested.startAt))
      return {
        version,
        phase,
        outcome: 'already-scheduled',
        changed: false,
        startAt: requested.startAt,
        message: `${version} is already scheduled to start at ${requested.startAt} (by ${requested.by}); nothing changed`,
      };
    throw new UserFacingError(
      `${version} is scheduled to start at ${requested.startAt} (by ${requested.by} at ${requested.at}); start-phase does not move a scheduled start. Fix: wait for it, or run start-phase --at ${requested.startAt} to confirm it`,
    );
  }

  const blockers = await checklistBlockers(version);
  let override: ChecklistOverride | undefined;
  if (blockers.length > 0) {
    if (!request.override) {
      const list = blockers.map((item) => `  ${item.id}: ${item.text}`).join('\n');
      throw new UserFacingError(
        `${version} cannot start: ${blockers.length} of ${CHECKLIST_ITEMS.length} pre-release checklist items are open:\n${list}\nFix: tick each with \`checklist --version ${version} --tick ITEM --by NAME [--evidence URL]\`, or start anyway with --override --reason TEXT`,
      );
    }
    override = (await overrideChecklist(version, blockers, { by, reason: request.reason ?? '' })).override;
  }
  const overridden = override
    ? ` with ${override.openItems.length} checklist item(s) open (override by ${override.by}: ${override.reason})`
    : '';

  const targetNow = await starter.now();
  if (request.at) {
    if (Date.parse(request.at) <= Date.parse(targetNow))
      throw new UsageError(
        `--at ${request.at} is not in the future (the target's time is ${targetNow}). Fix: leave out --at to start now`,
      );
    await starter.scheduleReleaseStart(version, { version, startAt: request.at }, request.at);
    await putStartRequestIfAbsent(version, { by, at: targetNow, startAt: request.at, scheduled: true });
    return {
      version,
      phase,
      outcome: 'scheduled',
      changed: true,
      startAt: request.at,
      ...(override ? { override } : {}),
      message: `Scheduled ${version} to start at ${request.at} (by ${by})${overridden}`,
    };
  }
  const started = await starter.startRelease(version, { version, startAt: targetNow });
  await putStartRequestIfAbsent(version, { by, at: targetNow, startAt: targetNow, scheduled: false });
  if (started.alreadyStarted)
    return {
      version,
      phase,
      outcome: 'already-started',
      changed: false,
      message: `${version} is already started; nothing changed`,
    };
  return {
    version,
    phase,
    outcome: 'started',
    changed: true,
    startAt: targetNow,
    ...(override ? { override } : {}),
    message: `Started ${version} at ${targetNow}: phase ${phase} first (by ${by})${overridden}`,
  };
}

function alreadyStarted(record: ReleaseRecord, phase: string): StartPhaseResult {
  const { release: version, status } = record;
  if (status === 'aborted' || status === 'failed')
    throw new UserFacingError(
      `${version} was ${status}${record.abortReason ? ` (${record.abortReason})` : ''}; a version's release runs once. Fix: release a new version`,
    );
  const base = { version, phase, changed: false, startAt: record.schedule.startAt };
  if (status === 'completed')
    return { ...base, outcome: 'completed', message: `${version} is already complete; nothing to start` };
  return {
    ...base,
    outcome: 'already-started',
    message: `${version} is already started (since ${record.schedule.startAt}, now ${status}); nothing changed`,
  };
}

async function startLaterPhase(
  request: StartPhaseRequest,
  phases: string[],
  starter: ReleaseStarter,
): Promise<StartPhaseResult> {
  const { version, phase, by } = request;
  const record = await getRelease(version);
  const stepPhases = new Map(
    rolloutShape(await configOf(version)).flatMap((shape) =>
      shape.steps.map((step) => [step.key, shape.name]),
    ),
  );
  const decision = laterPhaseStart(
    record && {
      status: record.status,
      pause: record.pause,
      awaitingStep: record.awaitingStep,
      abortReason: record.abortReason,
      phaseStarts: Object.fromEntries(
        Object.entries(record.schedule.phases ?? {}).map(([name, times]) => [name, times.startAt]),
      ),
    },
    phase,
    phases,
    (step) => stepPhases.get(step) ?? (phases.includes(step) ? step : undefined),
    await starter.now(),
  );
  const base = { version, phase, changed: false };
  switch (decision.kind) {
    case 'not-started': {
      const requested = await getStartRequest(version);
      const when = requested?.scheduled ? ` (it is scheduled to start at ${requested.startAt})` : '';
      throw new UserFacingError(
        `${version} has not been started${when}; ${phase} comes after ${phases[0]}. Fix: start it with \`start-phase --version ${version} --phase ${phases[0]}\``,
      );
    }
    case 'release-pause': {
      const reason = request.reason?.trim()
        ? `start-phase ${phase} by ${by}: ${request.reason.trim()}`
        : `start-phase ${phase} by ${by}`;
      const [result] = await resume({ release: version }, { reason, by });
      return {
        ...base,
        outcome: 'resumed',
        changed: result?.changed ?? false,
        opensAt: record?.schedule.phases[phase]?.startAt,
        message: result?.changed
          ? `Released ${version}, paused${decision.pausedIn ? ` in ${decision.pausedIn}` : ''} (${decision.reason}), so ${phase} can open: ${result.message}`
          : (result?.message ?? `${version} was not released`),
      };
    }
    case 'paused-at-or-after':
      throw new UserFacingError(
        `${version} is paused in ${decision.pausedIn}, not before ${phase}: ${decision.reason}. Fix: look at it with check-status, then \`resume --version ${version} --reason TEXT\` or abort it`,
      );
    case 'halted':
      throw new UserFacingError(
        `${version} is halted by ${decision.by}: ${decision.reason}; start-phase does not lift a halt. Fix: \`resume --version ${version} --reason TEXT\` when it may go on`,
      );
    case 'ended':
      if (decision.status === 'completed')
        return { ...base, outcome: 'completed', message: `${version} is already complete; every phase ran` };
      throw new UserFacingError(
        `${version} was ${decision.status}${decision.reason ? ` (${decision.reason})` : ''}; no phase starts any more. Fix: release a new version`,
      );
    case 'opens':
      return {
        ...base,
        outcome: 'opens-later',
        opensAt: decision.opensAt,
        message: `${version} is running; ${phase} opens at ${decision.opensAt} on the release's schedule, nothing to start now`,
      };
    case 'open':
      return {
        ...base,
        outcome: 'open',
        opensAt: decision.openedAt,
        message: `${version} is running; ${phase} opened at ${decision.openedAt}, nothing to start`,
      };
  }
}
