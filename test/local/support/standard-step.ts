import { bundledConfig } from '../../../lambdas/core/config.js';
import type { ReleaseSchedule } from '../../../lambdas/core/rollout-shape.js';
import { putCustomerIfAbsent } from '../../../lambdas/store/customers.js';
import { createRelease, moveRelease } from '../../../lambdas/store/releases.js';
import { putStepIfAbsent, putStepMember } from '../../../lambdas/store/steps.js';

export const DEPLOY_AT = '2027-03-13T01:00:00Z';

/**
 * A running release (started 1 March 2027) whose one step, standard_1, holds `customers`: standard customers
 * planned to deploy on 13 March 2027 in a Saturday window, noticed at `noticeAt` (none by default), none asked
 * anything yet.
 */
export async function runningReleaseWithStandardStep(
  release: string,
  customers: readonly { id: string; noticeAt?: string }[],
) {
  await createRelease({ release, startAt: '2027-03-01T09:00:00Z' } as ReleaseSchedule, {
    config: bundledConfig(),
    fleetRevision: 1,
  });
  await moveRelease(release, ['planning'], 'running');
  await putStepIfAbsent(release, 'standard_1', {
    total: customers.length,
    oneAtATime: false,
    waitUntil: '2027-04-02T09:00:00Z',
  });
  for (const { id, noticeAt = null } of customers) {
    await putCustomerIfAbsent(
      release,
      {
        id,
        name: id,
        policy: 'standard',
        phase: 'standard',
        batch: 1,
        noticeAt,
        deployAt: DEPLOY_AT,
        approvalRequired: false,
        deadlineAt: '2027-04-01T09:00:00Z',
        timeZone: 'Europe/Berlin',
        stepKey: 'standard_1',
        window: { timeZone: 'Europe/Berlin', days: ['sat'], start: '02:00', durationMinutes: 240 },
        contacts: [{ name: 'Ops', email: `ops@${id}.example.com` }],
        approvers: [],
      },
      '2027-03-01T09:00:00Z',
    );
    await putStepMember(release, 'standard_1', {
      id,
      deployAt: DEPLOY_AT,
      approvalRequired: false,
      deadlineAt: '2027-04-01T09:00:00Z',
    });
  }
}
