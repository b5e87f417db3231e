// Whether a version may go to a policy's customers now (`tag-based-deploy.sh validate`): it has been
// released to every phase before that policy's (each step complete, every gate passed or accepted by an
// operator's resume), each of those phases has been tested for its policy's testing period since its
// deployment ended, and no critical issue is open.

/** A gate as the release's records tell it: accepted means it failed and an operator resumed past it. */
export type GateStatus = 'passed' | 'accepted' | 'failed' | 'not-evaluated';

export interface StepEvidence {
  key: string;
  complete: boolean;
  gate: GateStatus;
  /** When the step completed (its last outcome and health evidence arrived). */
  completedAt?: string;
}

export interface PhaseEvidence {
  name: string;
  steps: StepEvidence[];
  phaseGate: GateStatus;
  /** The phase's planned end, used as its deployment end when a step has no completion time. */
  plannedEndAt?: string;
  testingPeriodDays: number;
}

export interface ValidationInput {
  version: string;
  policy: string;
  /** The release's status; undefined when it has not been started. */
  releaseStatus?: string;
  /** The phases before the policy's, in the configured order. */
  earlierPhases: PhaseEvidence[];
  criticalIssues: { reported: number; accepted: number };
  /** Pre-release checklist items still open (and not overridden): they keep a release from starting. */
  openChecklistItems: readonly string[];
  now: string;
}

export interface PhaseCheck {
  phase: string;
  released: boolean;
  deploymentEndedAt: string | null;
  testingEndsAt: string | null;
  testingOver: boolean;
  problems: string[];
}

/**
 * `validate --json`: { version, policy, allowed, reasons: [string], phases: [{ phase, released,
 * deploymentEndedAt, testingEndsAt, testingOver, problems: [string] }], criticalIssues: { reported,
 * accepted, open }, checkedAt }
 */
export interface Validation {
  version: string;
  policy: string;
  allowed: boolean;
  reasons: string[];
  phases: PhaseCheck[];
  criticalIssues: { reported: number; accepted: number; open: number };
  checkedAt: string;
}

const DAY_MS = 86_400_000;
const ENDED_BADLY = ['aborted', 'failed'];

export function validateForPolicy(input: ValidationInput): Validation {
  const phases = input.earlierPhases.map((phase) => phaseCheck(phase, input.now));
  const open = Math.max(0, input.criticalIssues.reported - input.criticalIssues.accepted);
  const reasons: string[] = [];
  if (input.releaseStatus && ENDED_BADLY.includes(input.releaseStatus))
    reasons.push(`${input.version} was ${input.releaseStatus}; it goes to no further customers`);
  if (!input.releaseStatus && phases.length > 0)
    reasons.push(
      `${input.version} has not been started; it reaches ${input.policy} customers only after ${phases
        .map((phase) => phase.phase)
        .join(', ')}`,
    );
  else for (const phase of phases) reasons.push(...phase.problems);
  if (!input.releaseStatus && input.openChecklistItems.length > 0)
    reasons.push(
      `${input.openChecklistItems.length} pre-release checklist item(s) open: ${input.openChecklistItems.join(', ')}`,
    );
  if (open > 0)
    reasons.push(
      `${open} critical issue(s) reported and not accepted (${input.criticalIssues.reported} reported in all)`,
    );
  return {
    version: input.version,
    policy: input.policy,
    allowed: reasons.length === 0,
    reasons,
    phases,
    criticalIssues: { ...input.criticalIssues, open },
    checkedAt: input.now,
  };
}

function phaseCheck(phase: PhaseEvidence, now: string): PhaseCheck {
  const problems: string[] = [];
  for (const step of phase.steps) {
    if (!step.complete) problems.push(`${phase.name}: step ${step.key} has not completed`);
    else problems.push(...gateProblem(phase.name, `gate ${step.key}`, step.gate));
  }
  const stepsDone = problems.length === 0;
  if (stepsDone) problems.push(...gateProblem(phase.name, 'phase gate', phase.phaseGate));
  const released = problems.length === 0;
  const deploymentEndedAt = released ? deploymentEnd(phase) : null;
  const testingEndsAt = deploymentEndedAt ? plusDays(deploymentEndedAt, phase.testingPeriodDays) : null;
  const testingOver = testingEndsAt !== null && Date.parse(testingEndsAt) <= Date.parse(now);
  if (released && !deploymentEndedAt) problems.push(`${phase.name}: no deployment end is recorded`);
  if (testingEndsAt && !testingOver)
    problems.push(
      `${phase.name}: its ${phase.testingPeriodDays}-day testing period ends ${testingEndsAt} (deployment ended ${deploymentEndedAt})`,
    );
  return { phase: phase.name, released, deploymentEndedAt, testingEndsAt, testingOver, problems };
}

function gateProblem(phase: string, gate: string, status: GateStatus): string[] {
  if (status === 'failed') return [`${phase}: ${gate} failed and awaits a decision`];
  if (status === 'not-evaluated') return [`${phase}: ${gate} has not been evaluated yet`];
  return [];
}

/** The latest step completion, or the planned end when a step has none recorded. */
function deploymentEnd(phase: PhaseEvidence): string | null {
  const times = phase.steps.map((step) => step.completedAt);
  if (times.length === 0 || times.some((time) => time === undefined)) return phase.plannedEndAt ?? null;
  return (times as string[]).reduce((latest, time) =>
    Date.parse(time) > Date.parse(latest) ? time : latest,
  );
}

function plusDays(instant: string, days: number): string {
  return new Date(Date.parse(instant) + days * DAY_MS).toISOString().replace('.000Z', 'Z');
}
