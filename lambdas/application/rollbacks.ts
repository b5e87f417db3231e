import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { isRollbackRequested, TRANSITIONS } from '../core/lifecycle.js';
import {
  isTriggerEnabled,
  type RollbackInput,
  type RollbackTrigger,
  rollbackExecutionName,
  rollbackStateMachineArn,
  rollbackWindow,
} from '../core/rollback.js';
import { rollbackRefused } from '../email/messages.js';
import { stepFunctions } from '../shared/clients.js';
import { now } from '../shared/clock.js';
import { requiredEnv } from '../shared/env.js';
import { classifyAwsError } from '../shared/errors.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { auditOnce, forgetAudit } from '../store/audit.js';
import { applyTransition, type CustomerRecord, noteInHistory, requireCustomer } from '../store/customers.js';
import type { RollBackCustomers } from './halt.js';
import { configOf } from './release-config.js';

export interface RollbackRequest {
  release: string;
  customerId: string;
  trigger: RollbackTrigger;
  /** Short: what the trigger saw, or why the person asks. */
  reason: string;
  /** Who or what asks: a handler's name, an operator's or a customer contact's address. */
  by: string;
}

/** Why a rollback was refused: each is recorded and told to the release manager once per customer. */
export type RollbackRefusal = 'trigger-disabled' | 'window-closed' | 'not-deployed';

export type RollbackRequestResult =
  | { kind: 'started' }
  | { kind: 'already-rolling-back' }
  | { kind: 'refused'; refusal: RollbackRefusal; reason: string };

/** Starts the customer's rollback workflow (the port the application tests fake). */
export type RollbackStarter = (input: RollbackInput) => Promise<void>;

/**
 * Asks for a deployed customer's rollback: one rollback however many triggers ask at once (the one
 * conditional write of the requestRollback transition decides), inside its policy's window only. A refusal
 * (trigger turned off, window closed) is recorded in the customer's history and the audit trail, and the
 * escalation contacts are emailed once per customer and kind of refusal. A customer not (yet) deployed is
 * refused without a record: the health sweep asks again once it is.
 */
export async function requestRollback(
  request: RollbackRequest,
  start: RollbackStarter = startRollbackExecution,
): Promise<RollbackRequestResult> {
  const customer = await requireCustomer(request.release, request.customerId);
  const config = await configOf(request.release);
  if (customer.state === 'rolling-back') {
    // A request already won; its execution may not have started (a crash in between): start it, once.
    await start(inputOf(request.release, customer, request));
    return { kind: 'already-rolling-back' };
  }
  if (isRollbackRequested(customer.state)) return { kind: 'already-rolling-back' };
  if (customer.state !== 'deployed' || !customer.deployedAt)
    return {
      kind: 'refused',
      refusal: 'not-deployed',
      reason: `${customer.id} is ${customer.state}: only a deployed customer can be rolled back`,
    };
  if (!isTriggerEnabled(request.trigger, config.release.rollbackTriggers))
    return refuse(
      request,
      customer,
      'trigger-disabled',
      `the ${request.trigger} trigger is turned off (config rollbackTriggers)`,
    );
  const at = now();
  const window = rollbackWindow(
    customer.deployedAt,
    config.policies[customer.policy].rollback.windowDays,
    at,
  );
  if (!window.open) return refuse(request, customer, 'window-closed', window.reason);

  const transition = await applyTransition(
    request.release,
    request.customerId,
    TRANSITIONS.requestRollback,
    { at, by: request.by, reason: `${request.trigger}: ${request.reason}` },
    {
      rollbackTrigger: request.trigger,
      rollbackReason: request.reason,
      rollbackRequestedAt: at,
      rollbackRequestedBy: request.by,
    },
  );
  if (!transition.applied) {
    // Another trigger won the race (or the customer moved on): that request is the rollback.
    const state = transition.customer?.state;
    if (state && isRollbackRequested(state)) return { kind: 'already-rolling-back' };
    return {
      kind: 'refused',
      refusal: 'not-deployed',
      reason: `${request.customerId} is ${state ?? 'unknown'}: only a deployed customer can be rolled back`,
    };
  }
  // Should the start fail, the next health sweep asks again (the transition made it due at once).
  await start(inputOf(request.release, transition.customer, request));
  return { kind: 'started' };
}

/** The workflow's input, from what the winning request recorded (so every retry starts the same one). */
function inputOf(release: string, customer: CustomerRecord, request: RollbackRequest): RollbackInput {
  return {
    release,
    customerId: customer.id,
    trigger: customer.rollbackTrigger ?? request.trigger,
    reason: customer.rollbackReason ?? request.reason,
    requestedAt: customer.rollbackRequestedAt ?? now(),
  };
}

async function refuse(
  request: RollbackRequest,
  customer: CustomerRecord,
  refusal: RollbackRefusal,
  reason: string,
): Promise<RollbackRequestResult> {
  const at = now();
  const what = `rollback-refused#${customer.id}#${refusal}`;
  const first = await auditOnce(request.release, at, what, {
    customerId: customer.id,
    trigger: request.trigger,
    asked: request.reason,
    by: request.by,
    refusal,
    reason,
  });
  if (first) {
    try {
      await noteInHistory(request.release, customer.id, customer.state, {
        at,
        by: request.by,
        reason: `rollback refused (${request.trigger}: ${request.reason}): ${reason}`,
      });
      await emailEscalationContacts(
        request.release,
        'rollback-refused',
        rollbackRefused({
          release: request.release,
          customerName: customer.name,
          customerId: customer.id,
          trigger: request.trigger,
          asked: request.reason,
          refusal: reason,
        }),
      );
    } catch (error) {
      // Given back, so the retry records and tells it.
      await forgetAudit(request.release, what);
      throw error;
    }
  }
  return { kind: 'refused', refusal, reason };
}

/**
 * The real starter: StartExecution on the release's rollback state machine, the execution named after the
 * customer. The name taken already means the customer's rollback was started: its state machine belongs to
 * this release, and the lifecycle lets a customer roll back once.
 */
/**
 * The gate decision "roll back the batch": asks each customer's rollback, one after the other, each by its
 * policy's process (the port `rollBackGatedBatch` calls).
 */
export const rollBackCustomers: RollBackCustomers = async (release, customerIds, request) => {
  const tally = {
    started: 0,
    alreadyRollingBack: 0,
    refused: [] as { customerId: string; reason: string }[],
  };
  for (const customerId of customerIds) {
    const result = await requestRollback({ release, customerId, ...request });
    if (result.kind === 'started') tally.started += 1;
    else if (result.kind === 'already-rolling-back') tally.alreadyRollingBack += 1;
    else tally.refused.push({ customerId, reason: result.reason });
  }
  return tally;
};

export async function startRollbackExecution(input: RollbackInput): Promise<void> {
  try {
    await stepFunctions().send(
      new StartExecutionCommand({
        stateMachineArn: rollbackStateMachineArn(
          requiredEnv('RELEASE_STATE_MACHINE_ARN_PREFIX'),
          input.release,
        ),
        name: rollbackExecutionName(input.customerId, input.requestedAt),
        input: JSON.stringify(input),
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ExecutionAlreadyExists') throw classifyAwsError(error);
  }
}

/** How an operator's rollback of one customer went: started, already under way (or done), or refused. */
export interface OperatorRollback {
  customerId: string;
  outcome: 'started' | 'already-rolling-back' | 'refused';
  /** The customer's lifecycle state after the request. */
  state?: string;
  /** Why it was refused (the window closed, not deployed…). */
  reason?: string;
}

/**
 * An operator's rollback of the customers named (trigger `operator`, always allowed), each by its policy's
 * process and inside its window, one after the other; a refusal is recorded and told as any other.
 */
export async function rollBackForOperator(
  release: string,
  customerIds: string[],
  decision: { reason: string; by: string },
  start: RollbackStarter = startRollbackExecution,
): Promise<OperatorRollback[]> {
  const results: OperatorRollback[] = [];
  for (const customerId of customerIds) {
    const result = await requestRollback(
      { release, customerId, trigger: 'operator', reason: decision.reason, by: decision.by },
      start,
    );
    const state = (await requireCustomer(release, customerId)).state;
    results.push(
      result.kind === 'refused'
        ? { customerId, outcome: 'refused', state, reason: result.reason }
        : { customerId, outcome: result.kind, state },
    );
  }
  return results;
}
