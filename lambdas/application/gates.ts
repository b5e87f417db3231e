import {
  type CappedIds,
  combineHealth,
  DEPLOYED_STATES,
  evaluateGate,
  GATE_AUDIT_MAX_CUSTOMERS,
  type GateSummary,
  gateAuditRecord,
  healthSince,
  qualityBreaches,
  type ReleaseQuality,
  releaseQualityOf,
  type StepHealth,
  summarizeGate,
} from '../core/gates.js';
import { judgedCustomers } from '../core/overlap.js';
import { rolloutShape } from '../core/rollout-shape.js';
import { now } from '../shared/clock.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { countMetric, logger } from '../shared/observability.js';
import { audit } from '../store/audit.js';
import { deployedWithoutHealthReport } from '../store/customers.js';
import { type ReleaseRecord, requireRelease, updateRelease } from '../store/releases.js';
import {
  getStep,
  type HealthShard,
  healthOf,
  rollbacksOf,
  type StepRecord,
  stepHealthShards,
  unacceptedRollbacks,
  unacceptedWithoutHealthReport,
} from '../store/steps.js';
import { holdOf } from './control.js';
import { pauseForFailedGate } from './pause.js';
import { configOf } from './release-config.js';

export type GateResult = (GateSummary & { halted: false }) | { passed: false; halted: true; reason: string };

/**
 * A gate: compares the step's (or, without a step, the phase's) outcomes, evidence and health, as kept on
 * its steps, with the phase's success criteria; a phase gate also checks the release's quality limits so far.
 * It passes only on evidence: missing or inconclusive data fails it like a failed criterion. A gate that does
 * not pass pauses the release, awaiting a decision, with the reason; a halted release reports `halted`.
 */
export async function evaluateGateOf(release: string, phase: string, step?: string): Promise<GateResult> {
  const config = await configOf(release);
  const criteria = config.release.phases.find((candidate) => candidate.name === phase)?.successCriteria;
  if (!criteria) throw new InvalidTaskInputError(`Unknown phase "${phase}"`);
  const record = await requireRelease(release);
  const hold = holdOf(record);
  if (hold.kind !== 'none') return { passed: false, halted: true, reason: hold.reason };

  const stepKeys = step
    ? [step]
    : (rolloutShape(config)
        .find((candidate) => candidate.name === phase)
        ?.steps.map((candidate) => candidate.key) ?? []);
  // Outcomes and health come from the steps' own items, kept exact as outcomes and reports arrive; what an
  // operator accepted (resuming after a failed gate) does not fail a later gate again.
  const [read, shards] = await Promise.all([
    Promise.all(stepKeys.map((key) => getStep(release, key))),
    stepHealthShards(release, stepKeys),
  ]);
  const steps = read.filter((each): each is StepRecord => each !== undefined);
  const silentCount = sum(steps.map(unacceptedWithoutHealthReport));
  const silentAccepted = sum(steps.map((each) => each.acceptedWithoutHealthReport));
  const decision = evaluateGate(
    {
      // Customers a newer release took over are not this release's to judge.
      total: sum(steps.map((each) => judgedCustomers(each).total)),
      recorded: sum(steps.map((each) => judgedCustomers(each).recorded)),
      deployed: sum(steps.map((each) => each.deployed)),
      failed: sum(steps.map((each) => Math.max(0, each.failed - each.acceptedFailed))),
      withoutHealthReport: await silentCustomers(release, stepKeys, silentCount, silentAccepted),
      rollbacks: sum(steps.map(unacceptedRollbacks)),
    },
    combineHealth(steps.map((each) => healthToJudge(each, shards.get(each.key) ?? []))),
    { ...criteria, ...config.release.releaseQuality },
  );
  if (!step) {
    const quality = await releaseQuality(record);
    const breaches = qualityBreaches(quality, config.release.releaseQuality, record.acceptedQuality);
    if (breaches.length > 0) {
      decision.passed = false;
      decision.reasons.push(...breaches);
    }
    await audit(release, now(), `quality#${phase}`, { ...quality, breaches });
  }
  // Every affected customer goes to the store; the execution's state (`$.gate`, at most 256 KiB) gets a
  // bounded summary whatever the number of customers.
  const what = `gate#${step ?? phase}`;
  await audit(release, now(), what, gateAuditRecord(decision));
  const summary = summarizeGate(decision);
  countMetric(summary.passed ? 'GatesPassed' : 'GatesFailed');
  logger.info(summary.passed ? 'Gate passed' : 'Gate failed', {
    gate: step ?? phase,
    ...(summary.passed ? {} : { reason: summary.reason }),
  });
  if (!summary.passed)
    await pauseForFailedGate(release, {
      what,
      steps: stepKeys,
      reason: `gate ${step ?? phase} failed: ${summary.reason}`,
    });
  return { ...summary, halted: false };
}

/**
 * The deployed customers without a health report: counted from the steps' counters, and read from the
 * customers themselves only when the counters say some are missing. A report being recorded at this very
 * moment may be marked on its customer and not yet counted on its step (the two writes follow each other),
 * so when the read found them all (fewer than the cap), the customers are the truth: the counters never
 * count a customer that did not report, they can only lag behind one that did.
 */
async function silentCustomers(
  release: string,
  stepKeys: string[],
  counted: number,
  accepted: number,
): Promise<CappedIds> {
  if (counted === 0) return { count: 0, ids: [] };
  const ids = await deployedWithoutHealthReport(release, stepKeys, DEPLOYED_STATES, GATE_AUDIT_MAX_CUSTOMERS);
  const count =
    ids.length < GATE_AUDIT_MAX_CUSTOMERS ? Math.min(counted, Math.max(0, ids.length - accepted)) : counted;
  return { count, ids: ids.slice(0, count) };
}

/** The release's quality figures so far, from every step's counters and health (one read per step). */
export async function releaseQuality(record: ReleaseRecord): Promise<ReleaseQuality> {
  const keys = rolloutShape(await configOf(record)).flatMap((phase) => phase.steps.map((step) => step.key));
  const [read, shards] = await Promise.all([
    Promise.all(keys.map((key) => getStep(record.release, key))),
    stepHealthShards(record.release, keys),
  ]);
  const steps = read.filter((each): each is StepRecord => each !== undefined);
  return releaseQualityOf(
    steps.map((each) => ({
      deployed: each.deployed,
      rollbacks: rollbacksOf(each),
      health: combineHealth([healthOf(each), ...(shards.get(each.key) ?? []).map((shard) => shard.health)]),
    })),
  );
}

/**
 * A step's health as a gate judges it: its shards added up (and what the step item counted before there
 * were shards), each less what an operator accepted of it.
 */
function healthToJudge(step: StepRecord, shards: HealthShard[]): StepHealth {
  return combineHealth([
    healthSince(healthOf(step), step.acceptedHealth),
    ...shards.map((shard) => healthSince(shard.health, shard.accepted)),
  ]);
}

/** Records the release's quality figures as an operator accepted them, resuming after a failed gate. */
export async function acceptReleaseQuality(release: string): Promise<void> {
  const record = await requireRelease(release);
  await updateRelease(release, { acceptedQuality: await releaseQuality(record) });
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
