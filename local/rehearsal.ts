import { join } from 'node:path';
import { DateTime } from 'luxon';
import { defaultStart } from '../cli/plan-release.js';
import { tickEveryItem } from '../lambdas/application/checklist.js';
import { importFleet } from '../lambdas/application/fleet.js';
import { releaseQuality } from '../lambdas/application/gates.js';
import {
  abort,
  halt,
  type RollBackCustomers,
  resume,
  rollBackGatedBatch,
} from '../lambdas/application/halt.js';
import { requestRollback, rollBackCustomers } from '../lambdas/application/rollbacks.js';
import { bundledConfig } from '../lambdas/core/config.js';
import { qualityBreaches, type ReleaseQuality } from '../lambdas/core/gates.js';
import { type CustomerState, type HistoryEntry, isOutcome } from '../lambdas/core/lifecycle.js';
import type { ReleaseQualityThresholds } from '../lambdas/core/model.js';
import { type RollbackTrigger, rollbackExecutionName } from '../lambdas/core/rollback.js';
import { versionSlug } from '../lambdas/core/versions.js';
import { emailCounts } from '../lambdas/store/audit.js';
import { type CustomerRecord, listCustomers } from '../lambdas/store/customers.js';
import { getRelease, type HaltRecord } from '../lambdas/store/releases.js';
import { getStep } from '../lambdas/store/steps.js';
import { MS_PER_DAY, SimulatedClock } from './clock.js';
import { FleetSimulator, type Scenario, type ScenarioOperation } from './fleet-simulator.js';
import { type LocalCloud, startLocalCloud } from './local-cloud.js';

import { rehearsalFleet } from './rehearsal-input.js';
import { SAMPLE_FLEET_FILE } from './sample-fleet.js';
import type { ExecutionRecord } from './step-functions.js';
import { OPERATIONS, parksRelease } from './templates.js';

/** The figures of a release that never started (nothing deployed, nothing reported). */
const NO_QUALITY_FIGURES: ReleaseQuality = {
  deployments: 0,
  rollbacks: 0,
  rollbackRatePercent: 0,
  criticalIssues: 0,
  performanceImpactPercent: 0,
  supportTicketIncreasePercent: 0,
};

export interface RehearsalOptions {
  version: string;
  /** Simulated start; default: the next day at 09:00 UTC. */
  startAt?: string;
  fleetFile?: string;
  /** Real milliseconds per simulated day; 0 runs as fast as possible. */
  msPerDay: number;
  autoApprove: boolean;
  scenario: Scenario;
  /** Progress lines for a person; silent when omitted. */
  progress?: (line: string) => void;
  /** Runs every Lambda handler twice with the same input (idempotency check). */
  invokeTwice?: boolean;
  /** Where the functions' log file (orchestrator.log) is kept; default: a folder removed at the end. */
  logDirectory?: string;
  /** Called once the local cloud is up (tests use it to act as approvers, or to act at a simulated time). */
  onReady?: (cloud: LocalCloud, clock: SimulatedClock) => void;
  /** How a scenario's `rollBackBatch` decision rolls customers back (default: the rollback workflow). */
  rollBackCustomers?: RollBackCustomers;
  /** A folder where the stand-ins' workload is written, for the bench's floor (off by default). */
  recordWorkloadTo?: string;
}

export interface CustomerOutcome {
  id: string;
  policy: string;
  outcome: string;
  /** Where the customer is in its lifecycle now (the outcome, or where it stopped). */
  state: string;
  reason?: string;
  noticeAt: string | null;
  requestedAt: string | null;
  deployedAt: string | null;
  approvedBy: string | null;
  history: HistoryEntry[];
  /** Its rollback, when one was asked for: what started it, how it went, its lines of the history. */
  rollback?: CustomerRollback;
}

export interface CustomerRollback {
  trigger: string | null;
  reason: string | null;
  approvedBy: string | null;
  scheduledAt: string | null;
  /** When the rollback was asked for (a trigger, a person). */
  requestedAt: string | null;
  /** When the platform was asked to roll the customer back (`Rollback Requested`). */
  platformAskedAt: string | null;
  rolledBackAt: string | null;
  failureReason: string | null;
  health: string | null;
  history: HistoryEntry[];
}

export interface RehearsalOutcome {
  version: string;
  /** PAUSED: the release awaits a decision and no operation of the scenario remains to come. */
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'PAUSED';
  haltReason?: string;
  /** Where a paused release stands: the state it is parked in, and why. */
  pausedAt?: { state: string; reason: string };
  halts: Pick<HaltRecord, 'scope' | 'from' | 'to' | 'reason' | 'by'>[];
  startAt: string;
  endedAt: string;
  realSeconds: number;
  customers: CustomerOutcome[];
  phases: Record<string, Record<string, number>>;
  emails: Record<string, number>;
  deploymentRequests: number;
  /** `Rollback Requested` events the platform received. */
  rollbackRequests: number;
  /** Rollbacks per phase as its steps counted them (each customer once), for the gates. */
  rollbacks: Record<string, { rolledBack: number; rollbackFailed: number }>;
  /** The release's quality figures at the end, against their limits (config `releaseQuality`). */
  quality: { figures: ReleaseQuality; limits: ReleaseQualityThresholds; breaches: string[] };
  executions: number;
  maxHistoryEvents: { execution: string; events: number };
  transitions: number;
  /** The largest state input or output of any execution (JSON bytes; Step Functions allows 256 KiB). */
  largestStatePayload: { execution: string; state: string; bytes: number };
  /** The release's DynamoDB requests by operation, from its start to its end (the report's reads excluded). */
  storeRequests: Record<string, number>;
  /** Lambda invocations by the function's operation. */
  invocations: Record<string, number>;
  /** SES send requests and the emails they sent. */
  ses: { sendCalls: number; emails: number };
  /** When the release execution started (epoch ms, real time): what came before is start-up. */
  releaseStartedEpochMs: number;
  /** Peak resident memory of this process so far, in MiB. */
  peakMemoryMiB: number;
  /** The functions' log lines and metrics, one JSON object a line. */
  logFile: string;
}

const OUTCOMES = [
  'deployed',
  'failed',
  'rollingBack',
  'rolledBack',
  'rollbackFailed',
  'held',
  'rejected',
  'deferred',
  'cancelled',
  'superseded',
  'not started',
] as const;

/** Rehearses one release end to end on the local cloud and reports what happened to every customer. */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalOutcome> {
  const startedReal = Date.now();
  const startAt = options.startAt ?? String(defaultStart(new Date()).toISO());
  // Validate the fleet and the version before anything starts: bad input is refused with nothing changed.
  const fleet = rehearsalFleet(options.version, options.fleetFile);
  const clock = new SimulatedClock({ startAt, msPerSimulatedDay: options.msPerDay });
  const local = await startLocalCloud({
    version: options.version,
    clock,
    invokeTwice: options.invokeTwice,
    logFile: options.logDirectory ? join(options.logDirectory, 'orchestrator.log') : undefined,
    recordWorkloadTo: options.recordWorkloadTo,
  });
  const say = options.progress ?? (() => {});
  try {
    // The release plans from the fleet in the table, as on AWS: the rehearsal's fleet is imported first.
    const imported = await importFleet(
      { json: fleet, label: options.fleetFile ?? SAMPLE_FLEET_FILE },
      'rehearsal',
    );
    say(`Fleet: ${imported.added.length} customers imported (fleet revision ${imported.revision})`);
    // A rehearsal is not a release: its pre-release checklist is ticked as "rehearsal".
    await tickEveryItem(options.version, 'rehearsal');
    const policies = new Map(fleet.customers.map((customer) => [customer.id, customer.policy]));
    const simulator = new FleetSimulator(local.bus, clock, options.scenario, (id) => policies.get(id));
    reportProgress(local, say);
    say(`Inbox: ${local.email.inboxUrl}   Approval API: ${local.approvalUrl}`);
    if (options.logDirectory) say(`Logs: ${local.logFile}`);
    if (options.autoApprove) approveEveryRequest(local, clock, say);
    options.onReady?.(local, clock);
    // Once the release has ended or is parked for good, and the rollbacks still running have ended too,
    // simulated time stops where it is, for the report.
    // Once: a rollback a late report starts after the hold could never end (time stands still), so
    // nothing waits for rollbacks but this.
    let frozen: Promise<void> | undefined;
    const freeze = () => {
      frozen ??= untilNoRollbackRuns(local).then(() => {
        clock.hold('the rehearsal has ended');
      });
      return frozen;
    };
    local.stepFunctions.onExecutionEnded(({ stateMachineRole }) => {
      if (stateMachineRole === 'release') void freeze();
    });

    const storeRequestsBefore = local.storeRequestCounts();
    const releaseStartedEpochMs = Date.now();
    const execution = local.stepFunctions.startExecution(
      local.releaseStateMachineArn,
      versionSlug(options.version),
      {
        version: options.version,
        startAt,
      },
    );
    const operations = runOperations(
      options.version,
      startAt,
      options.scenario.operations,
      clock,
      say,
      freeze,
      options.rollBackCustomers ?? rollBackCustomers,
    );
    const ended = await Promise.race([
      execution.done.then((record) => ({ record, paused: undefined })),
      operations.pausedWithNothingToCome(local).then((paused) => ({ record: undefined, paused })),
    ]);
    await freeze();
    // Every email queued so far reaches the inbox before the report.
    await local.queues.drained();
    const storeRequests = countsSince(storeRequestsBefore, local.storeRequestCounts());
    const { calls: sendCalls, emails: sesEmails } = local.email.sendStats();

    const customers = await listCustomers(options.version);
    const outcomes: CustomerOutcome[] = customers.map((customer) => ({
      id: customer.id,
      policy: customer.policy,
      outcome: outcomeOf(customer.state),
      state: customer.state,
      reason: customer.outcomeReason,
      noticeAt: customer.noticeSentAt ?? null,
      requestedAt: customer.deploymentRequestedAt ?? null,
      deployedAt: customer.state === 'deployed' ? (customer.deployedAt ?? null) : null,
      approvedBy: customer.approvedBy ?? null,
      history: customer.history,
      ...rollbackOf(customer),
    }));
    const phases: RehearsalOutcome['phases'] = {};
    for (const customer of outcomes) {
      phases[customer.policy] ??= Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0]));
      const counts = phases[customer.policy] as Record<string, number>;
      counts[customer.outcome] = (counts[customer.outcome] ?? 0) + 1;
    }
    const rollbacks: RehearsalOutcome['rollbacks'] = {};
    const stepsByPhase = new Map(customers.map((each) => [each.stepKey, each.phase]));
    for (const [key, phase] of stepsByPhase) {
      const step = await getStep(options.version, key);
      const counts = rollbacks[phase] ?? { rolledBack: 0, rollbackFailed: 0 };
      rollbacks[phase] = {
        rolledBack: counts.rolledBack + (step?.rolledBack ?? 0),
        rollbackFailed: counts.rollbackFailed + (step?.rollbackFailed ?? 0),
      };
    }
    const executions = [...local.stepFunctions.executions.values()];
    const largest = executions.reduce((max, candidate) =>
      candidate.historyEvents > max.historyEvents ? candidate : max,
    );
    const largestPayload = executions.reduce((max, candidate) =>
      candidate.largestPayload.bytes > max.largestPayload.bytes ? candidate : max,
    );
    const releaseRecord = await getRelease(options.version);
    const limits = bundledConfig().release.releaseQuality;
    const figures = releaseRecord ? await releaseQuality(releaseRecord) : undefined;
    const record = ended.record;
    const status: RehearsalOutcome['status'] = ended.paused
      ? 'PAUSED'
      : releaseRecord?.status === 'aborted'
        ? 'ABORTED'
        : record?.status === 'SUCCEEDED'
          ? 'SUCCEEDED'
          : 'FAILED';
    return {
      version: options.version,
      status,
      haltReason:
        status === 'SUCCEEDED'
          ? undefined
          : (ended.paused?.reason ?? releaseRecord?.abortReason ?? record?.cause ?? record?.error),
      pausedAt: ended.paused,
      halts: (releaseRecord?.halts ?? []).map(({ scope, from, to, reason, by }) => ({
        scope,
        from,
        to,
        reason,
        by,
      })),
      startAt,
      endedAt: clock.now(),
      realSeconds: (Date.now() - startedReal) / 1000,
      customers: outcomes,
      phases,
      // Every email is counted by kind as it is sent (the store's EMAILS counters), once each.
      emails: await emailCounts(options.version),
      deploymentRequests: simulator.requests.length,
      rollbackRequests: simulator.rollbackRequests.length,
      rollbacks,
      executions: executions.length,
      maxHistoryEvents: { execution: largest.name, events: largest.historyEvents },
      transitions: executions.reduce((sum, candidate) => sum + candidate.transitions, 0),
      largestStatePayload: { execution: largestPayload.name, ...largestPayload.largestPayload },
      storeRequests,
      invocations: local.invocationCounts(),
      ses: { sendCalls, emails: sesEmails },
      releaseStartedEpochMs,
      peakMemoryMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      logFile: local.logFile,
      quality: figures
        ? { figures, limits, breaches: qualityBreaches(figures, limits) }
        : { figures: NO_QUALITY_FIGURES, limits, breaches: [] },
    };
  } finally {
    await local.stop();
  }
}

function countsSince(before: Record<string, number>, now: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(now)
      .map(([key, count]): [string, number] => [key, count - (before[key] ?? 0)])
      .filter(([, count]) => count > 0),
  );
}

/** A customer's outcome as the summary counts it: its rollout's outcome, or where its rollback stands. */
function outcomeOf(state: CustomerState): string {
  if (isOutcome(state)) return state;
  const rollback: Partial<Record<CustomerState, string>> = {
    'rolling-back': 'rollingBack',
    'rolled-back': 'rolledBack',
    'rollback-failed': 'rollbackFailed',
  };
  return rollback[state] ?? 'not started';
}

function rollbackOf(customer: CustomerRecord): { rollback?: CustomerRollback } {
  const first = customer.history.findIndex((entry) => entry.state === 'rolling-back');
  if (first < 0) return {};
  return {
    rollback: {
      trigger: customer.rollbackTrigger ?? null,
      reason: customer.rollbackReason ?? null,
      approvedBy: customer.rollbackApprovedBy ?? null,
      scheduledAt: customer.rollbackScheduledAt ?? null,
      requestedAt: customer.rollbackRequestedAt ?? null,
      platformAskedAt: customer.rollbackPublishedAt ?? null,
      rolledBackAt: customer.rolledBackAt ?? null,
      failureReason: customer.rollbackFailureReason ?? null,
      health: customer.rollbackHealth?.summary ?? null,
      history: customer.history.slice(first),
    },
  };
}

/** Resolves once no rollback execution is running (at once when none is). */
function untilNoRollbackRuns(local: LocalCloud): Promise<void> {
  const rollbackRunning = () => local.stepFunctions.running('customer-rollback') > 0;
  if (!rollbackRunning()) return Promise.resolve();
  return new Promise((resolve) => {
    // Called as each execution ends, its status already final.
    local.stepFunctions.onExecutionEnded(() => {
      if (!rollbackRunning()) resolve();
    });
  });
}

/**
 * Starts a customer's rollback execution as the rollback triggers do (one per customer and release,
 * named after the customer): the same name and input again is the same execution.
 */
export function startRollbackExecution(
  local: LocalCloud,
  input: {
    release: string;
    customerId: string;
    trigger: RollbackTrigger;
    reason: string;
    requestedAt: string;
  },
): ExecutionRecord {
  const arn = local.cloud.roles.get('customer-rollback');
  if (!arn) throw new Error('The release template has no customer-rollback state machine');
  return local.stepFunctions.startExecution(
    arn,
    rollbackExecutionName(input.customerId, input.requestedAt),
    input,
  );
}

/**
 * Runs the scenario's operator actions on the simulated clock, through the same operations the CLI uses.
 * `pausedWithNothingToCome` resolves once the release is parked awaiting a decision and no action remains.
 */
function runOperations(
  release: string,
  startAt: string,
  operations: ScenarioOperation[],
  clock: SimulatedClock,
  say: (line: string) => void,
  freeze: () => Promise<void>,
  rollBackCustomers: RollBackCustomers,
) {
  let pending = operations.length;
  let parked: string | undefined;
  let notify: (() => void) | undefined;
  const check = () => {
    if (pending === 0 && parked) notify?.();
  };
  for (const operation of operations) {
    const at = new Date(Date.parse(startAt) + operation.atDay * MS_PER_DAY).toISOString();
    void clock
      .at(at, async () => {
        try {
          await apply(release, operation, say, rollBackCustomers);
        } catch (error) {
          say(`⚠ operation at day ${operation.atDay} failed: ${(error as Error).message}`);
        } finally {
          pending -= 1;
          check();
        }
      })
      .catch(() => {}); // the clock stopped first: the rehearsal has ended
  }
  return {
    pausedWithNothingToCome(local: LocalCloud): Promise<{ state: string; reason: string }> {
      return new Promise((resolve) => {
        local.stepFunctions.onCallback((task) => {
          if (!parksRelease(local.cloud, task)) return;
          parked = task.waiting ? task.stateName : undefined;
          check();
        });
        notify = () => {
          const state = parked ?? '';
          // Rollbacks still running end first (a release paused by a gate does not stop them).
          void freeze().then(
            () =>
              clock
                .track(
                  getRelease(release).then((record) =>
                    resolve({
                      state,
                      reason: record?.pause?.reason ?? record?.status ?? 'awaiting a decision',
                    }),
                  ),
                )
                .catch(() => {}), // the rehearsal already ended otherwise
          );
        };
      });
    },
  };
}

async function apply(
  release: string,
  operation: ScenarioOperation,
  say: (line: string) => void,
  rollBackCustomers: RollBackCustomers,
) {
  if ('halt' in operation) {
    const { customer, ...decision } = operation.halt;
    for (const result of await halt({ release, customerId: customer }, decision)) say(`🛑 ${result.message}`);
  } else if ('resume' in operation) {
    const { customer, ...decision } = operation.resume;
    for (const result of await resume({ release, customerId: customer }, decision))
      say(`▶ ${result.message}`);
  } else if ('rollBackBatch' in operation) {
    say(`↩ ${(await rollBackGatedBatch(release, operation.rollBackBatch, rollBackCustomers)).message}`);
  } else if ('rollback' in operation) {
    const { customer, reason, by } = operation.rollback;
    const result = await requestRollback({ release, customerId: customer, trigger: 'operator', reason, by });
    say(
      result.kind === 'refused'
        ? `↩ rollback of ${customer} refused: ${result.reason}`
        : `↩ rollback of ${customer} requested by ${by} (${result.kind})`,
    );
  } else {
    say(`⏹ ${(await abort(release, operation.abort)).message}`);
  }
}

function simulatedDate(iso: string): string {
  return DateTime.fromISO(iso, { zone: 'utc' }).toFormat("ccc yyyy-LL-dd HH:mm 'UTC'");
}

/**
 * Acts as every approver: reads the request from the inbox, opens the page, types its code, presses Approve.
 * An approval it cannot answer (no email, the page or the answer fails) is reported and simulated time is
 * let go on: the request then times out on the simulated clock, as one nobody answers does.
 */
export function approveEveryRequest(
  local: LocalCloud,
  clock: SimulatedClock,
  say: (line: string) => void = (line) => console.error(line),
): void {
  local.onInvoked(({ fn, payload, result }) => {
    if (fn.operation !== OPERATIONS.requestApproval || !result) return;
    const { requestId } = result as { requestId?: string };
    const { taskToken, customerId } = payload as { taskToken?: string; customerId?: string };
    const approve = async () => {
      const answer = await approveFromInbox(local, String(requestId));
      if (!answer.ok) throw new Error(`the approval page answered ${answer.status}`);
    };
    void clock.track(approve()).catch((error: Error) => {
      const stillWaiting = taskToken !== undefined && local.stepFunctions.stopHolding(taskToken);
      say(
        `   ⚠ auto-approve of ${customerId ?? 'a customer'} (request ${requestId}) failed: ${error.message}` +
          (stillWaiting ? '; it will time out unanswered' : ''),
      );
    });
  });
}

/** Does what a person does: opens the review page, types the code it shows, presses the button. */
export async function approveFromInbox(
  local: LocalCloud,
  requestId: string,
  action: 'approve' | 'reject' = 'approve',
) {
  const review = await reviewUrlFromInbox(local, requestId);
  const page = await (await fetch(review)).text();
  const form = /<form method="post">(.*?)<\/form>/s.exec(page)?.[1] ?? '';
  const code = /id="confirmation-code">([^<]+)</.exec(form)?.[1];
  const button = new RegExp(`<button type="submit" name="action" value="${action}"`);
  if (!code || !button.test(form)) throw new Error(`No ${action} button on the review page of ${requestId}`);
  const fields = new URLSearchParams(
    [...form.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"/g)].map((m): [string, string] => [
      m[1] ?? '',
      (m[2] ?? '').replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))),
    ]),
  );
  fields.set('confirmation', code);
  fields.set('action', action);
  return fetch(review, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
  });
}

export async function reviewUrlFromInbox(local: LocalCloud, requestId: string): Promise<string> {
  // The request is queued; the sender delivers it to the inbox.
  await local.queues.drained();
  const url = local.approvalLinks.reviewUrl(requestId);
  if (!url) throw new Error(`No approval email for request ${requestId} in the inbox`);
  return url;
}

export function reportProgress(local: LocalCloud, say: (line: string) => void): void {
  const isRelease = (execution: ExecutionRecord) => execution.stateMachineRole === 'release';
  local.stepFunctions.onWait(({ execution, stateName, until }) => {
    if (isRelease(execution)) say(`⏳ ${stateName} → ${simulatedDate(until)}`);
  });
  local.stepFunctions.onStateEntered(({ execution, stateName, stateType }) => {
    if (isRelease(execution) && stateType === 'Task') say(`▶ ${stateName}`);
  });
  // Outcomes are printed as they are recorded: the last one resumes the release before its handler returns.
  local.onInvoking(({ fn, payload }) => {
    if (fn.operation !== OPERATIONS.recordOutcome) return;
    const { customerId, outcome, reason, error } = payload as {
      customerId: string;
      outcome: string;
      reason?: string;
      error?: { Cause?: string };
    };
    const why = reason ?? error?.Cause;
    say(`   ${outcome.padEnd(9)} ${customerId}${why ? ` (${why})` : ''}`);
  });
  local.onInvoked(({ fn, payload, result, error }) => {
    const data = payload as Record<string, unknown>;
    if (fn.operation === OPERATIONS.sendNotices && !error) {
      const sent = (result as { sent: number }).sent;
      if (sent > 0) say(`   ✉ ${sent} advance notice(s) sent on ${simulatedDate(String(data.asOf))}`);
    }
    if (fn.operation === OPERATIONS.requestApproval && !error) {
      const { requestId } = result as { requestId: string };
      void local.queues.drained().then(() => {
        const url = local.approvalLinks.reviewUrl(requestId);
        if (url) say(`   ✋ approval pending for ${String(data.customerId)}: ${url}`);
      });
    }
    if (fn.operation === OPERATIONS.recordRolloutEnded && !error) {
      const ended = result as { customerId?: string; outcome?: string | null; counted?: boolean };
      const status = (data.detail as { status?: string } | undefined)?.status;
      if (ended.customerId && ended.counted)
        say(`   ${String(ended.outcome).padEnd(9)} ${ended.customerId} (its rollout execution ${status})`);
    }
    if (fn.operation === OPERATIONS.recordRollbackOutcome && !error) {
      const { state, counted } = result as { state: string; counted: boolean };
      const why =
        (data.reason as string | undefined) ?? (data.error as { Cause?: string } | undefined)?.Cause;
      if (counted || state === 'deployed')
        say(`   ↩ ${state.padEnd(9)} ${String(data.customerId)}${why ? ` (${why})` : ''}`);
    }
    if (fn.operation === OPERATIONS.evaluateGate && !error) {
      const gate = result as { passed: boolean; reason: string };
      say(`   gate ${gate.passed ? 'passed' : `FAILED: ${gate.reason}`}`);
    }
  });
}
