import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { awaitDecision, endAborted } from '../../lambdas/application/halt.js';
import { remindWhilePaused } from '../../lambdas/application/pause.js';
import { MIN_STEP_WAIT_SECONDS } from '../../lambdas/core/timeouts.js';
import {
  aStandardCustomer,
  givenCustomer,
  givenRelease,
  RELEASE,
  storedCustomer,
  storedRelease,
} from '../handlers/support/given.js';
import {
  emailsSent,
  errorFrom,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  tokensAnswered,
} from '../handlers/support/world.js';

// A paused release waits for a decision: it reminds the escalation contacts while it waits, ends as aborted
// when the execution's time limit nears, and a decision taken while it was being parked answers at once.

const DAY = 24 * 60 * 60;
const DECISION_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAdecision-task-token';
const STATE = 'Standard · batch 1 of 4 · paused, awaiting decision';
/** Paused since 2027-03-12T18:00:00Z (givenRelease), in an execution started on 1 March that may run 60 days. */
const execution = {
  state: STATE,
  executionStartedAt: '2027-03-01T09:00:00Z',
  executionTimeLimitSeconds: 60 * DAY,
  reminderIntervalSeconds: DAY,
};

beforeEach(() => {
  resetWorld();
  process.env.ESCALATION_EMAILS = 'release-manager@securewatch.example.com';
});
afterAll(() => {
  delete process.env.ESCALATION_EMAILS;
  restoreRealClock();
});

const reminders = () => emailsSent().filter((email) => email.text.includes(STATE));

describe('reminding while paused', () => {
  it('reminds the escalation contacts once per interval, naming where the release waits and why', async () => {
    givenRelease('paused');
    givenTheTimeIs('2027-03-13T19:00:00.000Z');

    await remindWhilePaused(RELEASE, execution);
    await remindWhilePaused(RELEASE, execution);
    givenTheTimeIs('2027-03-14T19:00:00.000Z');
    await remindWhilePaused(RELEASE, execution);

    expect(reminders()).toHaveLength(2);
    expect(reminders()[0]?.text).toContain('gate standard_1 failed');
  });

  it('ends with Release.TimeLimit, naming the pause, when the time limit is less than two intervals away', async () => {
    givenRelease('paused');
    givenTheTimeIs('2027-04-28T10:00:00.000Z');

    const error = await errorFrom(() => remindWhilePaused(RELEASE, execution));

    expect(error.name).toBe('Release.TimeLimit');
    expect(error.message).toContain('gate standard_1 failed');
    expect(emailsSent()).toEqual([]);
  });
});

describe('parking for a decision', () => {
  it('waits, unanswered, while the release is paused', async () => {
    givenRelease('paused');

    await awaitDecision(RELEASE, STATE, DECISION_TOKEN);

    expect(tokensAnswered()).toEqual([]);
    expect(storedRelease()).toMatchObject({ decisionToken: DECISION_TOKEN, parkedAt: STATE });
  });

  it('answers resume at once when the release was resumed while it was being parked', async () => {
    givenRelease('running');

    await awaitDecision(RELEASE, STATE, DECISION_TOKEN);

    expect(tokensAnswered()).toEqual([
      {
        token: DECISION_TOKEN,
        outcome: 'success',
        output: { decision: 'resume', waitSeconds: MIN_STEP_WAIT_SECONDS },
      },
    ]);
  });

  it('answers abort at once when the release was aborted while it was being parked', async () => {
    givenRelease('aborted');

    await awaitDecision(RELEASE, STATE, DECISION_TOKEN);

    expect(tokensAnswered()).toMatchObject([{ token: DECISION_TOKEN, output: { decision: 'abort' } }]);
  });
});

describe('ending the release as aborted', () => {
  it('aborts a paused release for the cause the workflow gives, cancelling its undeployed customers', async () => {
    givenRelease('paused');
    givenCustomer(aStandardCustomer());

    const ended = await endAborted(RELEASE, 'Release.TimeLimit: no decision before the time limit');

    expect(ended).toEqual({ aborted: true, reason: 'Release.TimeLimit: no decision before the time limit' });
    expect(storedRelease()).toMatchObject({
      status: 'aborted',
      abortReason: 'Release.TimeLimit: no decision before the time limit',
    });
    expect(storedCustomer('northwind-logistics')?.state).toBe('cancelled');
  });

  it('keeps the reason of an operator’s abort, and cancels what the abort left', async () => {
    givenRelease('aborted');
    givenCustomer(aStandardCustomer());

    const ended = await endAborted(RELEASE, undefined);

    expect(ended).toEqual({ aborted: true, reason: 'the release was withdrawn' });
    expect(storedCustomer('northwind-logistics')?.state).toBe('cancelled');
  });
});
