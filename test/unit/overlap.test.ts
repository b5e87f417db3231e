import { describe, expect, it } from 'vitest';
import { evaluateGate, NO_HEALTH_ISSUES } from '../../lambdas/core/gates.js';
import {
  CUSTOMER_STATES,
  canApply,
  isNotYetRequested,
  isOutcome,
  TRANSITIONS,
  transitionTo,
} from '../../lambdas/core/lifecycle.js';
import {
  customersToTakeOver,
  deploymentVerdict,
  isOlderRelease,
  judgedCustomers,
  releasesSupersededBy,
  supersededBy,
  takeOverOf,
  versionRank,
  withoutDowngrades,
} from '../../lambdas/core/overlap.js';

const CRITERIA = {
  minBatchSuccessRatePercent: 95,
  maxCriticalIssues: 0,
  maxPerformanceDegradationPercent: 10,
  maxRollbacks: 0,
  maxSupportTicketIncreasePercent: 20,
};

describe('which releases a newer one supersedes', () => {
  it('orders versions by their numbers, not their spelling', () => {
    expect(isOlderRelease('v1.9.0', 'v1.10.0')).toBe(true);
    expect(isOlderRelease('v1.10.0', 'v1.9.0')).toBe(false);
    expect(isOlderRelease('v1.1.0', 'v1.1.0')).toBe(false);
    expect(versionRank('v1.10.0')).toBeGreaterThan(versionRank('v1.9.0'));
    expect(versionRank('v2.0.0')).toBeGreaterThan(versionRank('v1.999.0'));
  });

  it('takes older releases that have not ended, oldest first, and leaves newer and ended ones alone', () => {
    const releases = [
      { release: 'v1.3.0', status: 'running' },
      { release: 'v1.2.0', status: 'paused' },
      { release: 'v1.1.0', status: 'halted' },
      { release: 'v1.0.0', status: 'completed' },
      { release: 'v0.9.0', status: 'aborted' },
      { release: 'v1.4.0', status: 'running' },
    ];

    expect(releasesSupersededBy('v1.4.0', releases)).toEqual(['v1.1.0', 'v1.2.0', 'v1.3.0']);
    expect(releasesSupersededBy('v1.2.0', releases)).toEqual(['v1.1.0']);
  });

  it('takes over only the customers the newer release can deploy', () => {
    const planned = [
      { id: 'acme', deployAt: '2027-03-09T09:00:00Z' },
      { id: 'no-window-left', deployAt: null },
    ];

    expect(customersToTakeOver(planned)).toEqual(['acme']);
  });
});

describe('what becomes of an older release’s customer', () => {
  it('is taken over while nothing was asked of the platform, and goes on there once it was', () => {
    for (const state of CUSTOMER_STATES) {
      const fate = takeOverOf(state);
      if (isNotYetRequested(state)) expect(fate, state).toBe('take-over');
      else if (['deployment-requested', 'deployed', 'rolling-back'].includes(state))
        expect(fate, state).toBe('goes-on');
      else expect(fate, state).toBe('ended');
    }
  });

  it('ends superseded only from a state before its deployment was requested', () => {
    for (const state of CUSTOMER_STATES)
      expect(canApply(TRANSITIONS.supersede, state), state).toBe(isNotYetRequested(state));
    expect(TRANSITIONS.supersede.to).toBe('superseded');
    expect(transitionTo('superseded')).toBe(TRANSITIONS.supersede);
    expect(isOutcome('superseded')).toBe(true);
    expect(supersededBy('v1.2.0')).toBe('superseded by v1.2.0');
  });
});

describe('planning never downgrades', () => {
  it('leaves out the customers already on the version or a newer one, saying why', () => {
    const customers = [
      { id: 'acme', currentVersion: 'v1.0.0' },
      { id: 'early-adopter', currentVersion: 'v1.2.0' },
      { id: 'pilot', currentVersion: 'v1.3.0' },
    ];

    expect(withoutDowngrades('v1.2.0', customers)).toEqual({
      toPlan: [{ id: 'acme', currentVersion: 'v1.0.0' }],
      leftOut: [
        { id: 'early-adopter', reason: 'already on v1.2.0' },
        { id: 'pilot', reason: 'already on v1.3.0' },
      ],
    });
  });
});

describe('whether a release may ask the platform to deploy a customer', () => {
  it('proceeds when no other release deploys it and it runs an older version', () => {
    expect(deploymentVerdict('v1.2.0', undefined)).toEqual({ kind: 'proceed' });
    expect(deploymentVerdict('v1.2.0', { deployedVersion: 'v1.1.0' })).toEqual({ kind: 'proceed' });
    expect(deploymentVerdict('v1.2.0', { deployingRelease: 'v1.2.0' })).toEqual({ kind: 'proceed' });
  });

  it('waits while another release’s deployment of it is in flight', () => {
    expect(deploymentVerdict('v1.2.0', { deployingRelease: 'v1.1.0' })).toEqual({
      kind: 'in-flight',
      release: 'v1.1.0',
    });
  });

  it('never downgrades: a customer already on this version or a newer one is not deployed again', () => {
    expect(deploymentVerdict('v1.1.0', { deployedVersion: 'v1.2.0' })).toEqual({
      kind: 'already-on',
      version: 'v1.2.0',
    });
    expect(deploymentVerdict('v1.1.0', { deployedVersion: 'v1.1.0' })).toEqual({
      kind: 'already-on',
      version: 'v1.1.0',
    });
  });
});

describe('a gate of a step whose customers a newer release took over', () => {
  const judge = (step: {
    total: number;
    recorded: number;
    deployed: number;
    failed: number;
    superseded: number;
  }) =>
    evaluateGate(
      {
        ...judgedCustomers(step),
        deployed: step.deployed,
        failed: step.failed,
        withoutHealthReport: { count: 0, ids: [] },
        rollbacks: 0,
      },
      NO_HEALTH_ISSUES,
      CRITERIA,
    );

  it('judges the customers the release deployed, as if the superseded ones were never in the step', () => {
    const decision = judge({ total: 5, recorded: 5, deployed: 2, failed: 0, superseded: 3 });

    expect(decision.passed).toBe(true);
  });

  it('passes a step whose customers were all taken over: nothing of this release is left to judge', () => {
    expect(judge({ total: 5, recorded: 5, deployed: 0, failed: 0, superseded: 5 }).passed).toBe(true);
  });

  it('still fails on this release’s own failures and missing outcomes', () => {
    const decision = judge({ total: 6, recorded: 5, deployed: 1, failed: 1, superseded: 3 });

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(
      expect.arrayContaining([
        '1 customer(s) have no outcome yet',
        expect.stringContaining('batch success rate 50.0%'),
      ]),
    );
  });
});
