import { DateTime } from 'luxon';
import { z } from 'zod';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS } from '../core/timeouts.js';
import { correlationIdFor, DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { optionalNumberEnv } from '../shared/env.js';
import { ReleaseStateError } from '../shared/errors.js';
import { releaseConfig } from '../shared/release-config.js';
import { taskHandler } from '../shared/task.js';
import { answerDeploymentWait } from '../shared/task-answers.js';
import {
  claimCustomerField,
  getCustomer,
  getRelease,
  requireCustomer,
  updateCustomer,
} from '../store/release-store.js';

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
  const releaseRecord = await getRelease(release);
  if (releaseRecord?.status === 'halted') throw new ReleaseStateError(`Release ${release} is halted`);
  const requestedAt = now();
  assertNoticeLeadTimeElapsed(customer, requestedAt);

  if (await answerDeploymentWait(taskToken, customer)) return { alreadyReported: true };
  await updateCustomer(release, customerId, { deploymentToken: taskToken });
  const firstRequest = await claimCustomerField(release, customerId, 'deploymentRequestedAt', {
    deploymentRequestedAt: requestedAt,
    deploymentStatus: 'requested',
  });
  if (!firstRequest) {
    // The report may have arrived between reading the customer and storing this run's token.
    const latest = await getCustomer(release, customerId);
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
    await updateCustomer(release, customerId, {}, ['deploymentRequestedAt', 'deploymentStatus']);
    throw error;
  }
  return { requested: firstRequest };
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
