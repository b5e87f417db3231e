import { describe, expect, it } from 'vitest';
import { laterPhaseStart, type ReleaseStanding } from '../../lambdas/core/phase-start.js';

const PHASES = ['demo', 'startup', 'standard', 'enterprise'];
const phaseOfStep = (step: string) => PHASES.find((phase) => step.startsWith(phase));
const running: ReleaseStanding = {
  status: 'running',
  phaseStarts: {
    demo: '2027-03-01T09:00:00Z',
    startup: '2027-03-02T09:00:00Z',
    standard: '2027-03-09T09:00:00Z',
    enterprise: '2027-03-23T09:00:00Z',
  },
};
const at = (now: string, release: ReleaseStanding | undefined = running, phase = 'standard') =>
  laterPhaseStart(release, phase, PHASES, phaseOfStep, now);

describe('starting a phase after the first', () => {
  it('says when the phase opens while the release runs before it', () => {
    expect(at('2027-03-05T00:00:00Z')).toEqual({ kind: 'opens', opensAt: '2027-03-09T09:00:00Z' });
  });

  it('says the phase is open once its start has passed', () => {
    expect(at('2027-03-10T00:00:00Z')).toEqual({ kind: 'open', openedAt: '2027-03-09T09:00:00Z' });
  });

  it('releases a release paused by a gate of an earlier phase', () => {
    const paused = {
      ...running,
      status: 'paused',
      pause: {
        kind: 'gate-failed',
        reason: 'gate startup failed',
        by: 'gate#startup',
        steps: ['startup_1', 'startup_2'],
      },
    };

    expect(at('2027-03-10T00:00:00Z', paused)).toEqual({
      kind: 'release-pause',
      pausedIn: 'startup',
      reason: 'gate startup failed',
    });
  });

  it('does not release a pause in the phase itself or after it', () => {
    const paused = {
      ...running,
      status: 'paused',
      pause: {
        kind: 'gate-failed',
        reason: 'gate standard_2 failed',
        by: 'gate#standard_2',
        steps: ['standard_2'],
      },
    };

    expect(at('2027-03-14T00:00:00Z', paused)).toMatchObject({
      kind: 'paused-at-or-after',
      pausedIn: 'standard',
    });
  });

  it('places a pause of no known step by the time: before the phase while it has not opened', () => {
    const paused = {
      ...running,
      status: 'paused',
      pause: { kind: 'rollback-failed', reason: 'x', by: 'rollback#a' },
    };

    expect(at('2027-03-05T00:00:00Z', paused).kind).toBe('release-pause');
    expect(at('2027-03-10T00:00:00Z', paused).kind).toBe('paused-at-or-after');
  });

  it('leaves a halt to the operator, and reports a release not started or ended', () => {
    const halted = {
      ...running,
      status: 'halted',
      pause: { kind: 'halted', reason: 'incident', by: 'dana' },
    };

    expect(at('2027-03-05T00:00:00Z', halted)).toEqual({ kind: 'halted', reason: 'incident', by: 'dana' });
    expect(laterPhaseStart(undefined, 'standard', PHASES, phaseOfStep, '2027-03-05T00:00:00Z')).toEqual({
      kind: 'not-started',
    });
    expect(at('2027-03-05T00:00:00Z', { ...running, status: 'completed' })).toEqual({
      kind: 'ended',
      status: 'completed',
    });
  });
});
