import { connect } from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { approveFromInbox, type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// Garbage thrown at the local servers of a running rehearsal over raw TCP: odd paths and ids (some far
// over DynamoDB's key limit), bodies of every kind and size, wrong content types, huge headers, request
// lines that are not HTTP, requests cut off half-way. Every answer is a 4xx or the connection is closed;
// afterwards the servers still answer a valid request and the rehearsal completes.

type Answer = { statuses: number[]; hung: boolean };
type Trial = { server: string; request: string; answer: Answer };

const RUNS = 120;
const trials: Trial[] = [];
let propertyFailure: string | undefined;
let afterGarbage: { approval: number; inbox: number } | undefined;
let outcome: RehearsalOutcome;

beforeAll(async () => {
  let first = true;
  outcome = await rehearse({
    version: 'v1.1.0',
    startAt: '2027-03-01T09:00:00Z',
    msPerDay: 0,
    autoApprove: false,
    scenario: scenarioSchema.parse({}),
    onReady: (local) => {
      local.onInvoked(({ fn, result }) => {
        if (fn.operation !== 'request-approval' || !result) return;
        const { requestId } = result as { requestId: string };
        if (!first) {
          void approveFromInbox(local, requestId);
          return;
        }
        first = false;
        // The pending approval holds simulated time while the garbage flies.
        void (async () => {
          const servers = {
            'approval API': local.approvalUrl,
            'AWS endpoint': String(process.env.AWS_ENDPOINT_URL_SFN),
            inbox: local.email.inboxUrl,
          };
          try {
            await fc.assert(
              fc.asyncProperty(
                fc.constantFrom(...(Object.keys(servers) as (keyof typeof servers)[])),
                garbageRequest(requestId),
                async (server, request) => {
                  const answer = await sendRaw(servers[server], request.bytes, request.cutOff);
                  trials.push({ server, request: request.describe, answer });
                  return isHarmless(answer, request);
                },
              ),
              { numRuns: RUNS },
            );
          } catch (error) {
            propertyFailure = (error as Error).message;
          } finally {
            const approval = await approveFromInbox(local, requestId);
            const inbox = await fetch(local.email.inboxUrl);
            afterGarbage = { approval: approval.status, inbox: inbox.status };
          }
        })();
      });
    },
  });
}, 180_000);

type GarbageRequest = { bytes: Buffer; cutOff: boolean; headComplete: boolean; describe: string };

function garbageRequest(requestId: string): fc.Arbitrary<GarbageRequest> {
  const id = fc.oneof(
    fc.constant(requestId),
    fc.constant('k'.repeat(3000)),
    fc.string({ minLength: 129, maxLength: 4000 }).map(encodeURIComponent),
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  const path = fc.oneof(
    id.map((value) => `/approvals/${value}`),
    fc.tuple(id, fc.string({ maxLength: 200 })).map(([value, query]) => `/approvals/${value}?${query}`),
    fc.webPath(),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('*', '//', 'http://[', '/approvals/', '/approvals//x', '/%', '/%ZZ'),
  );
  const method = fc.oneof(
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
    fc.string({ maxLength: 12 }),
  );
  const contentType = fc.oneof(
    fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/json',
      'application/json; charset=utf-16',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/x-amz-json-1.0',
      '',
    ),
    fc.string({ maxLength: 100 }),
  );
  const body = fc.oneof(
    fc.string({ maxLength: 500 }),
    fc.json(),
    fc
      .record({
        action: fc.constantFrom('approve', 'reject', ''),
        approver: fc.emailAddress(),
        expires: fc.string({ maxLength: 30 }),
        signature: fc.string({ maxLength: 60 }),
        confirmation: fc.string({ maxLength: 10 }),
      })
      .map((fields) => new URLSearchParams(fields).toString()),
    fc.integer({ min: 8 * 1024, max: 200 * 1024 }).map((size) => 'a='.padEnd(size, 'x')),
    fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  );
  const headerName = fc
    .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,30}$/)
    .filter(
      (name) =>
        !['content-length', 'transfer-encoding', 'host', 'connection', 'expect'].includes(name.toLowerCase()),
    );
  const headers: fc.Arbitrary<[string, string][]> = fc.oneof(
    fc.array(fc.tuple(headerName, fc.string({ maxLength: 200 })), { maxLength: 5 }),
    fc.constant<[string, string][]>([['X-Huge', 'h'.repeat(40 * 1024)]]),
    fc.constant<[string, string][]>([['X-Amz-Target', 'AWSStepFunctions.NoSuchOperation']]),
  );
  const wellFormedish = fc
    .record({
      method,
      path,
      contentType,
      body,
      headers,
      cutAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
    })
    .map(({ method, path, contentType, body, headers, cutAt }) => {
      const payload = Buffer.from(body, 'utf8');
      const head = Buffer.from(
        [
          `${method} ${path} HTTP/1.1`,
          'Host: 127.0.0.1',
          `Content-Type: ${contentType}`,
          `Content-Length: ${payload.length}`,
          ...headers.map(([name, value]) => `${name}: ${value}`),
          '',
          '',
        ].join('\r\n'),
        'utf8',
      );
      const whole = Buffer.concat([head, payload]);
      const cutOff = cutAt !== null && whole.length > 1;
      const bytes = cutOff ? whole.subarray(0, Math.floor((whole.length - 1) * cutAt)) : whole;
      return {
        bytes,
        cutOff,
        headComplete: bytes.includes('\r\n\r\n'),
        describe: `${method.slice(0, 20)} ${path.slice(0, 80)} (${contentType.slice(0, 40)}, ${head.length} B head, ${payload.length} B body${cutOff ? `, cut at ${bytes.length} of ${whole.length} B` : ''})`,
      };
    });
  const noise = fc.uint8Array({ maxLength: 2000 }).map((raw) => {
    const bytes = Buffer.from(raw);
    return {
      bytes,
      cutOff: false,
      headComplete: bytes.includes('\r\n\r\n'),
      describe: `${bytes.length} random bytes`,
    };
  });
  return fc.oneof({ arbitrary: wellFormedish, weight: 4 }, { arbitrary: noise, weight: 1 });
}

/** A 4xx for every answer; no answer only when the client sent no complete request. */
function isHarmless(answer: Answer, request: GarbageRequest): boolean {
  if (answer.hung) return false;
  if (!answer.statuses.every((status) => status >= 400 && status < 500)) return false;
  return answer.statuses.length > 0 || request.cutOff || !request.headComplete;
}

/** Writes `bytes` on a fresh connection, closes the sending side and reads until the server closes. */
function sendRaw(url: string, bytes: Buffer, cutOff: boolean): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.end(bytes);
    });
    // A guard, not an expectation on speed: a server that neither answers nor closes is hung.
    socket.setTimeout(cutOff ? 60_000 : 20_000, () => {
      socket.destroy();
      resolve({ statuses: [], hung: true });
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('latin1');
      const statuses = [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((match) => Number(match[1]));
      resolve({ statuses, hung: false });
    });
  });
}

describe('garbage thrown at the local servers of a running rehearsal', () => {
  it('gets a 4xx for every request, or a closed connection for a request never completed', () => {
    expect(propertyFailure).toBeUndefined();
    expect(trials.length).toBeGreaterThanOrEqual(RUNS);
    const answers = trials.flatMap((trial) => trial.answer.statuses);
    expect(answers.filter((status) => status < 400 || status >= 500)).toEqual([]);
  });

  it('throws every kind of garbage: cut-off requests, huge headers and bodies, over-long ids, noise', () => {
    const described = trials.map((trial) => trial.request);
    expect(described.some((request) => request.includes('cut at'))).toBe(true);
    expect(described.some((request) => request.includes('random bytes'))).toBe(true);
    expect(described.some((request) => /\/approvals\/k{60}/.test(request))).toBe(true);
    expect(described.some((request) => /\d{5,} B head/.test(request))).toBe(true);
    expect(described.some((request) => /\d{5,} B body/.test(request))).toBe(true);
    expect(new Set(trials.map((trial) => trial.server)).size).toBe(3);
  });

  it('still answers valid requests afterwards: the approval is recorded and the inbox shows', () => {
    expect(afterGarbage).toEqual({ approval: 200, inbox: 200 });
  });

  it('completes the rehearsal', () => {
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.customers.every((customer) => customer.outcome === 'deployed')).toBe(true);
  });
});
