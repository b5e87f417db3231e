import { DateTime } from 'luxon';
import { z } from 'zod';
import { assertMayProceed } from '../application/control.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS } from '../core/timeouts.js';
import { correlationIdFor, DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { optionalNumberEnv } from '../shared/env.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { answerDeploymentWait } from '../shared/task-answers.js';
import { applyTransition, requireCustomer, updateCustomer } from '../store/customers.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  taskToken: z.string().min(1),
});

export class NoticeLeadTimeError extends Error {
  override name = 'Notice.LeadTime';
}

/**
 * "Deploy and await report" (callback): publishes one `Deployment Requested` per customer and release,
 * however often it runs, and parks the execution until the platform reports back (record-deployment-result).
 */
export const handler = taskHandler(input, async ({ release, customerId, taskToken }) => {
  const customer = await requireCustomer(release, customerId);
  // A halt or an abort stops the deployment here: the rollout parks, or ends cancelled.
  if (customer.state !== 'deployment-requested') await assertMayProceed(release, customer);
  const requestedAt = now();
  assertNoticeLeadTimeElapsed(customer, requestedAt);

  if (await answerDeploymentWait(taskToken, customer)) return { alreadyReported: true };
  await updateCustomer(release, customerId, { deploymentToken: taskToken });
  const transition = await applyTransition(
    release,
    customerId,
    TRANSITIONS.requestDeployment,
    { at: requestedAt, by: 'request-deployment' },
    { deploymentRequestedAt: requestedAt, deploymentStatus: 'requested' },
  );
  if (!transition.applied) {
    // The report may have arrived between reading the customer and storing this run's token.
    const latest = transition.customer;
    if (latest && (await answerDeploymentWait(taskToken, latest))) return { alreadyReported: true };
    return { requested: false };
  }
  const reportBy = DateTime.fromISO(requestedAt)
    .plus({
      seconds: optionalNumberEnv('DEPLOYMENT_REPORT_TIMEOUT_SECONDS', DEPLOYMENT_REPORT_TIMEOUT_HOURS * 3600),
    })
    .toUTC()
    .toISO();
  try {
    await publish([
      {
        detailType: DETAIL_TYPES.deploymentRequested,
        detail: {
          schemaVersion: SCHEMA_VERSION,
          correlationId: correlationIdFor(release, customerId),
          release,
          version: release,
          customerId,
          phase: customer.phase,
          batch: customer.batch,
          requestedAt,
          reportBy,
        },
      },
    ]);
  } catch (error) {
    // Give the request back, so the retry publishes it instead of waiting for an answer to nothing.
    await applyTransition(
      release,
      customerId,
      TRANSITIONS.withdrawRequest,
      { at: now(), by: 'request-deployment', reason: 'publishing the request failed; it is retried' },
      {},
      ['deploymentRequestedAt', 'deploymentStatus'],
    );
    throw error;
  }
  return { requested: true };
});

function assertNoticeLeadTimeElapsed(
  customer: {
    policy: keyof ReturnType<typeof releaseConfig>['config']['policies'];
    noticeAt: string | null;
    noticeSentAt?: string;
    id: string;
  },
  at: string,
): void {
  if (customer.noticeAt === null) return;
  const leadDays = releaseConfig().config.policies[customer.policy].advanceNoticeDays;
  if (!customer.noticeSentAt)
    throw new NoticeLeadTimeError(`${customer.id} has not been sent its advance notice`);
  const earliest = DateTime.fromISO(customer.noticeSentAt).plus({ days: leadDays });
  if (DateTime.fromISO(at) < earliest) {
    throw new NoticeLeadTimeError(
      `${customer.id} was notified ${customer.noticeSentAt}; ${leadDays} days must pass first`,
    );
  }
}
