import { beforeAll, describe, expect, it } from 'vitest';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// `--auto-approve` with the approval page down: no request can be answered. Each is reported, simulated
// time is let go on, and each request times out on the simulated clock as one nobody answers does; the
// release goes on to its end instead of holding simulated time forever.

describe('auto-approve when no approval can be answered', () => {
  const lines: string[] = [];
  const asked = new Set<string>();
  let outcome: RehearsalOutcome;

  beforeAll(async () => {
    outcome = await rehearse({
      version: 'v1.1.0',
      startAt: '2027-03-01T09:00:00Z',
      msPerDay: 0,
      autoApprove: true,
      scenario: scenarioSchema.parse({}),
      progress: (line) => lines.push(line),
      onReady: (local) => {
        local.onInvoking(({ fn, payload }) => {
          if (fn.operation === 'request-approval') asked.add((payload as { customerId: string }).customerId);
        });
        local.injectFault(({ fn }) =>
          fn.operation === 'handle-approval' ? new Error('the approval page is down') : undefined,
        );
      },
    });
  }, 600_000);

  it('reports each approval it could not answer', () => {
    expect(asked.size).toBeGreaterThan(0);
    for (const customerId of asked)
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `⚠ auto-approve of ${customerId} \\(request .+\\) failed: .*; it will time out unanswered`,
          ),
        ),
      );
  });

  it('lets each such customer time out unapproved while the others deploy, and the release goes on to its end', () => {
    const unapproved = outcome.customers.filter((customer) => asked.has(customer.id));
    expect(unapproved.length).toBe(asked.size);
    for (const customer of unapproved) {
      expect(customer.outcome).toBe('deferred');
      expect(customer.approvedBy).toBeNull();
    }
    const others = outcome.customers.filter((customer) => !asked.has(customer.id));
    expect(others.length).toBeGreaterThan(0);
    for (const customer of others) expect(customer.outcome).toBe('deployed');
    // With none of its customers deployed, the gate of their phase asks for a decision, as it would on AWS.
    expect(outcome.status).toBe('PAUSED');
    expect(outcome.pausedAt?.reason).toMatch(/no deployment result/);
  });
});
