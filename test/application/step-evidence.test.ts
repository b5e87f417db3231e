import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import {
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  givenStep,
  RELEASE,
} from '../handlers/support/given.js';
import { healthReportArrives } from '../handlers/support/when.js';
import { givenTheTimeIs, resetWorld, restoreRealClock, tokensAnswered } from '../handlers/support/world.js';

// A step's gate judges evidence: the release waits on the step until every customer has an outcome and
// every deployed one has reported health since its deployment (or the step's wait ends).

const stepResumed = () => tokensAnswered().filter((answer) => answer.token === 'step-token');

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-03-14T06:00:00.000Z');
  givenRelease('running');
  givenStep('standard_2', { total: 2, waitToken: 'step-token' });
  givenCustomer(deploymentRequested(aStandardCustomer({ id: 'aurora' })));
  givenCustomer(deploymentRequested(aStandardCustomer({ id: 'bluefin' })));
});
afterAll(restoreRealClock);

describe('the release waiting on a step', () => {
  it('waits past the last outcome for the health report of a deployed customer, and goes on when it arrives', async () => {
    await healthReportArrives('aurora');
    await recordOutcome(RELEASE, 'aurora', 'deployed', { by: 'platform' });
    await recordOutcome(RELEASE, 'bluefin', 'deployed', { by: 'platform' });

    expect(stepResumed()).toEqual([]);

    await healthReportArrives('bluefin');

    expect(stepResumed()).toEqual([
      expect.objectContaining({
        outcome: 'success',
        output: expect.objectContaining({ halted: false, deployed: 2 }),
      }),
    ]);
  });

  it('goes on at the last outcome when every deployed customer reported before it', async () => {
    await healthReportArrives('aurora');
    await healthReportArrives('bluefin');
    await recordOutcome(RELEASE, 'aurora', 'deployed', { by: 'platform' });

    expect(stepResumed()).toEqual([]);

    await recordOutcome(RELEASE, 'bluefin', 'failed', { by: 'platform', reason: 'disk full' });

    expect(stepResumed()).toHaveLength(1);
  });
});
