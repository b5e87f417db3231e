// What `start-phase --phase P` does for a phase after the first: the release runs its phases on its own
// schedule, so a later phase is "started" only by releasing a release paused (awaiting a decision) before
// it; otherwise the command says when the phase opens.

export interface ReleaseStanding {
  status: string;
  pause?: { kind: string; reason: string; by: string; steps?: string[] };
  awaitingStep?: string;
  abortReason?: string;
  /** Each phase's planned start, from the release's schedule. */
  phaseStarts: Record<string, string>;
}

export type LaterPhaseStart =
  | { kind: 'not-started' }
  | { kind: 'release-pause'; pausedIn: string | undefined; reason: string }
  | { kind: 'paused-at-or-after'; pausedIn: string; reason: string }
  | { kind: 'halted'; reason: string; by: string }
  | { kind: 'ended'; status: string; reason?: string }
  | { kind: 'opens'; opensAt: string }
  | { kind: 'open'; openedAt: string };

/**
 * `phases` is the configured phase order, `phaseOfStep` maps a step key to its phase. A paused release
 * whose pause belongs to no known step is before `phase` when the phase has not opened yet.
 */
export function laterPhaseStart(
  release: ReleaseStanding | undefined,
  phase: string,
  phases: readonly string[],
  phaseOfStep: (step: string) => string | undefined,
  now: string,
): LaterPhaseStart {
  if (!release) return { kind: 'not-started' };
  const opensAt = release.phaseStarts[phase];
  const opened = opensAt !== undefined && Date.parse(opensAt) <= Date.parse(now);
  switch (release.status) {
    case 'completed':
      return { kind: 'ended', status: release.status };
    case 'aborted':
    case 'failed':
      return { kind: 'ended', status: release.status, reason: release.abortReason };
    case 'halted':
      return {
        kind: 'halted',
        reason: release.pause?.reason ?? 'halted',
        by: release.pause?.by ?? 'unknown',
      };
    case 'paused': {
      const reason = release.pause?.reason ?? 'awaiting a decision';
      const step = release.pause?.steps?.[0] ?? release.awaitingStep;
      const pausedIn = step ? phaseOfStep(step) : undefined;
      const before = pausedIn ? phases.indexOf(pausedIn) < phases.indexOf(phase) : !opened;
      if (before) return { kind: 'release-pause', pausedIn, reason };
      return { kind: 'paused-at-or-after', pausedIn: pausedIn ?? phase, reason };
    }
    default:
      if (opensAt === undefined || !opened) return { kind: 'opens', opensAt: opensAt ?? 'not scheduled' };
      return { kind: 'open', openedAt: opensAt };
  }
}
