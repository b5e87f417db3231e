import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/program.js';
import { verifyApproval } from '../../lambdas/core/approval-link.js';
import { signingKeysSchema } from '../../lambdas/core/signing-keys.js';
import { forgetSigningKeys } from '../../lambdas/shared/signing-keys.js';
import { getApproval } from '../../lambdas/store/approvals.js';
import { APPROVAL_SIGNING_SECRET_NAME } from '../../lib/platform-names.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import type { LocalCloud } from '../../local/local-cloud.js';
import {
  approveFromInbox,
  type RehearsalOutcome,
  rehearse,
  reviewUrlFromInbox,
} from '../../local/rehearsal.js';

// The approval signing key is rotated twice in the middle of a rehearsal, with the command an operator
// runs. Each rotation reaches the functions as a fresh instance would see it (the cache forgotten).
// The approval emails, all sent before the first rotation, still open and approve after it; once a
// second rotation retires their key, the same links are refused as altered. The release completes.

interface Answer {
  customerId: string;
  signedBeforeRotation: boolean;
  status: number;
  thanked: boolean;
}

const answers: Answer[] = [];
const failures: string[] = [];
/** One decided request's link, opened once before and once after its key was retired. */
const decidedLink: { beforeRetiring?: number; afterRetiring?: number; body?: string } = {};
let outcome: RehearsalOutcome;
let rotations = 0;

async function rotate(): Promise<void> {
  const err: string[] = [];
  const exitCode = await runCli(['rotate-signing-key'], {
    stdout: () => {},
    stderr: (text) => err.push(text),
  });
  if (exitCode !== 0) throw new Error(`rotate-signing-key failed: ${err.join('')}`);
  rotations++;
  // A fresh instance of each function reads the keys the rotation put.
  forgetSigningKeys();
}

function currentKeyIn(local: LocalCloud): string {
  return signingKeysSchema.parse(
    JSON.parse(local.secrets.getSecretValue({ SecretId: APPROVAL_SIGNING_SECRET_NAME }).SecretString),
  ).current;
}

/** Whether the emailed link carries a signature made with `key`. */
function signedWith(link: string, key: string): boolean {
  const url = new URL(link);
  const requestId = url.pathname.split('/').pop() ?? '';
  const approver = url.searchParams.get('approver') ?? '';
  const expiresAt = url.searchParams.get('expires') ?? '';
  return verifyApproval(
    { requestId, approver, expiresAt },
    'approve',
    url.searchParams.get('approve') ?? '',
    key,
  );
}

beforeAll(async () => {
  let firstKey = '';
  let firstLink = '';
  let queue = Promise.resolve();
  const seen: string[] = [];
  let asking = 0;
  outcome = await rehearse({
    version: 'v1.1.0',
    startAt: '2027-03-01T09:00:00Z',
    msPerDay: 0,
    autoApprove: false,
    scenario: scenarioSchema.parse({}),
    onReady: (local) => {
      firstKey = currentKeyIn(local);
      local.onInvoking(({ fn }) => {
        if (fn.operation === 'request-approval') asking++;
      });
      local.onInvoked(({ fn, payload, result }) => {
        if (fn.operation !== 'request-approval') return;
        asking--;
        if (!result) return;
        const { customerId } = payload as { customerId: string };
        const { requestId } = result as { requestId: string };
        if (seen.includes(requestId)) return;
        seen.push(requestId);
        // One request at a time; a pending approval holds simulated time meanwhile.
        queue = queue.then(async () => {
          try {
            const link = await reviewUrlFromInbox(local, requestId);
            if (rotations === 0) {
              firstLink = link;
              await rotate();
            }
            const response = await approveFromInbox(local, requestId);
            answers.push({
              customerId,
              signedBeforeRotation: signedWith(link, firstKey),
              status: response.status,
              thanked: (await response.text()).includes('Thank you'),
            });
            // The first key is retired once no request it signed can still be pending.
            const decided = await Promise.all(seen.map(async (id) => (await getApproval(id))?.decision));
            if (rotations === 1 && asking === 0 && decided.every(Boolean)) {
              decidedLink.beforeRetiring = (await fetch(firstLink)).status;
              await rotate();
              const refused = await fetch(firstLink);
              decidedLink.afterRetiring = refused.status;
              decidedLink.body = await refused.text();
            }
          } catch (error) {
            failures.push(`${customerId}: ${(error as Error).stack ?? error}`);
          }
        });
      });
    },
  });
  await queue;
}, 180_000);

afterAll(forgetSigningKeys);

describe('rotating the approval signing key during a release', () => {
  it('runs without a failure', () => {
    expect(failures).toEqual([]);
  });

  it('approves, after the rotation, every link emailed before it, with the code its page shows', () => {
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.filter((answer) => !answer.signedBeforeRotation)).toEqual([]);
    expect(answers.filter((answer) => answer.status !== 200 || !answer.thanked)).toEqual([]);
  });

  it('refuses as altered (403) a link whose key a second rotation retired', () => {
    expect(rotations).toBe(2);
    // Decided already: while its key verifies, the link says so.
    expect(decidedLink.beforeRetiring).toBe(409);
    expect(decidedLink.afterRetiring).toBe(403);
    expect(decidedLink.body).toContain('Invalid link');
  });

  it('completes the release, each approved customer approved from its link', () => {
    expect(outcome.status).toBe('SUCCEEDED');
    expect(answers.length).toBe(outcome.customers.filter((customer) => customer.approvedBy).length);
  });
});
