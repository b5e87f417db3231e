import { describe, expect, it } from 'vitest';
import { type PhaseEvidence, validateForPolicy } from '../../lambdas/core/policy-validation.js';

const passedStep = (key: string, completedAt: string) => ({
  key,
  complete: true,
  gate: 'passed' as const,
  completedAt,
});

const demo: PhaseEvidence = {
  name: 'demo',
  steps: [passedStep('demo_1', '2027-03-01T15:00:00Z')],
  phaseGate: 'passed',
  plannedEndAt: '2027-03-02T09:00:00Z',
  testingPeriodDays: 1,
};
const startup: PhaseEvidence = {
  name: 'startup',
  steps: [passedStep('startup_1', '2027-03-04T10:00:00Z'), passedStep('startup_2', '2027-03-06T10:00:00Z')],
  phaseGate: 'passed',
  plannedEndAt: '2027-03-09T09:00:00Z',
  testingPeriodDays: 7,
};

function validate(overrides: Partial<Parameters<typeof validateForPolicy>[0]> = {}) {
  return validateForPolicy({
    version: 'v1.1.0',
    policy: 'standard',
    releaseStatus: 'running',
    earlierPhases: [demo, startup],
    criticalIssues: { reported: 0, accepted: 0 },
    openChecklistItems: [],
    now: '2027-03-14T00:00:00Z',
    ...overrides,
  });
}

describe('whether a version may go to a policy now', () => {
  it('allows it once every earlier phase is released and tested for its testing period, with no critical issue', () => {
    const validation = validate();

    expect(validation).toMatchObject({ allowed: true, reasons: [] });
    expect(validation.phases[1]).toMatchObject({
      phase: 'startup',
      released: true,
      deploymentEndedAt: '2027-03-06T10:00:00Z',
      testingEndsAt: '2027-03-13T10:00:00Z',
      testingOver: true,
    });
  });

  it('refuses while an earlier phase’s testing period runs, saying when it ends', () => {
    const validation = validate({ now: '2027-03-10T00:00:00Z' });

    expect(validation.allowed).toBe(false);
    expect(validation.reasons).toEqual([
      'startup: its 7-day testing period ends 2027-03-13T10:00:00Z (deployment ended 2027-03-06T10:00:00Z)',
    ]);
  });

  it('names each step not completed and each gate that failed or has not run', () => {
    const validation = validate({
      earlierPhases: [
        demo,
        {
          ...startup,
          steps: [
            { key: 'startup_1', complete: true, gate: 'failed' },
            { key: 'startup_2', complete: false, gate: 'not-evaluated' },
          ],
          phaseGate: 'not-evaluated',
        },
      ],
    });

    expect(validation.allowed).toBe(false);
    expect(validation.reasons).toEqual([
      'startup: gate startup_1 failed and awaits a decision',
      'startup: step startup_2 has not completed',
    ]);
    expect(validation.phases[1]).toMatchObject({ released: false, testingEndsAt: null });
  });

  it('counts a failed gate an operator resumed past as released', () => {
    const validation = validate({
      earlierPhases: [
        demo,
        { ...startup, steps: [{ ...passedStep('startup_1', '2027-03-04T10:00:00Z'), gate: 'accepted' }] },
      ],
    });

    expect(validation.allowed).toBe(true);
  });

  it('uses the phase’s planned end when a step has no completion time', () => {
    const validation = validate({
      earlierPhases: [demo, { ...startup, steps: [{ key: 'startup_1', complete: true, gate: 'passed' }] }],
    });

    expect(validation.phases[1]?.testingEndsAt).toBe('2027-03-16T09:00:00Z');
    expect(validation.allowed).toBe(false);
  });

  it('refuses while a critical issue is open, and not for one an operator accepted', () => {
    expect(validate({ criticalIssues: { reported: 2, accepted: 0 } }).reasons).toEqual([
      '2 critical issue(s) reported and not accepted (2 reported in all)',
    ]);
    expect(validate({ criticalIssues: { reported: 2, accepted: 2 } }).allowed).toBe(true);
  });

  it('refuses a release not started for any policy after the first, and allows the first', () => {
    const later = validate({ releaseStatus: undefined, earlierPhases: [{ ...demo, steps: [] }] });
    const first = validate({ policy: 'demo', releaseStatus: undefined, earlierPhases: [] });

    expect(later.reasons).toEqual([
      'v1.1.0 has not been started; it reaches standard customers only after demo',
    ]);
    expect(first.allowed).toBe(true);
  });

  it('refuses a release not started while pre-release checklist items are open', () => {
    const first = validate({
      policy: 'demo',
      releaseStatus: undefined,
      earlierPhases: [],
      openChecklistItems: ['security-scans-clean', 'code-review-completed'],
    });

    expect(first.reasons).toEqual([
      '2 pre-release checklist item(s) open: security-scans-clean, code-review-completed',
    ]);
  });

  it('refuses an aborted release', () => {
    expect(validate({ releaseStatus: 'aborted' }).reasons).toContain(
      'v1.1.0 was aborted; it goes to no further customers',
    );
  });
});
