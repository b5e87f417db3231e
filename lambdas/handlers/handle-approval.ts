import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { holdOf } from '../application/control.js';
import { type ApprovalAction, type ApprovalLink, verifyApproval } from '../core/approval-link.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { localTime } from '../email/messages.js';
import { now } from '../shared/clock.js';
import { requiredEnv } from '../shared/env.js';
import { answerApprovalWait } from '../shared/task-answers.js';
import { type ApprovalRecord, decideApproval, getApproval } from '../store/approvals.js';
import { audit } from '../store/audit.js';
import { applyTransition, getCustomer } from '../store/customers.js';
import { getRelease } from '../store/releases.js';

// The approval page behind an emailed link. A GET only shows the request (mail scanners open every link);
// only a POST from the page's buttons decides, once.

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
};

type Problem = { status: number; title: string; detail: string };

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const wantsJson = (event.headers?.accept ?? '').includes('application/json');
  const requestId = event.pathParameters?.id ?? '';
  const method = event.requestContext?.http?.method ?? 'GET';
  const fields = method === 'POST' ? parseForm(event) : new URLSearchParams(event.rawQueryString ?? '');
  const link: ApprovalLink = {
    requestId,
    approver: (fields.get('approver') ?? '').toLowerCase(),
    expiresAt: fields.get('expires') ?? '',
  };
  const key = requiredEnv('APPROVAL_SIGNING_KEY');

  const approval = requestId ? await getApproval(requestId) : undefined;
  if (!approval)
    return problem(
      {
        status: 404,
        title: 'Unknown approval request',
        detail: 'This link does not match any approval request. Use the link from the most recent email.',
      },
      wantsJson,
    );

  if (method === 'GET') {
    const approveSig = fields.get('approve') ?? '';
    const rejectSig = fields.get('reject') ?? '';
    if (
      !verifyApproval(link, 'approve', approveSig, key) ||
      !verifyApproval(link, 'reject', rejectSig, key)
    ) {
      return problem(alteredLink, wantsJson);
    }
    const refusal = refuse(approval, link) ?? (await holdRefusal(approval));
    if (refusal) return problem(refusal, wantsJson);
    return page(200, reviewPage(approval, link, approveSig, rejectSig));
  }

  const action = fields.get('action') as ApprovalAction | null;
  if (action !== 'approve' && action !== 'reject') {
    return problem(
      { status: 400, title: 'Unknown action', detail: 'Choose Approve or Reject on the review page.' },
      wantsJson,
    );
  }
  if (!verifyApproval(link, action, fields.get('signature') ?? '', key)) {
    return problem(alteredLink, wantsJson);
  }
  if (approval.decision && approval.approvers.includes(link.approver)) {
    // Answered before: record and resume again (harmless if it worked), in case the first answer failed
    // half-way.
    await recordDecision(
      approval,
      approval.decision,
      approval.decidedBy ?? link.approver,
      approval.decidedAt ?? now(),
    );
    await answerApprovalWait(approval.taskToken, approval.decision, approval.decidedBy ?? link.approver);
    return problem(alreadyDecided, wantsJson);
  }
  const refusal = refuse(approval, link) ?? (await holdRefusal(approval));
  if (refusal) return problem(refusal, wantsJson);

  const decision = action === 'approve' ? 'approved' : 'rejected';
  const decidedAt = now();
  if (!(await decideApproval(requestId, decision, link.approver, decidedAt))) {
    return problem(alreadyDecided, wantsJson);
  }
  // The customer moves first, then the execution is resumed: its next task finds it approved.
  await recordDecision(approval, decision, link.approver, decidedAt);
  await answerApprovalWait(approval.taskToken, decision, link.approver);
  await audit(approval.release, decidedAt, `approval#${approval.customerId}`, {
    decision,
    by: link.approver,
  });
  if (wantsJson) return json(200, { decision, customerId: approval.customerId, release: approval.release });
  return page(
    200,
    `<h1>Thank you</h1><p>You ${decision} SecureWatch ${escapeHtml(approval.release)} for ${escapeHtml(approval.customerName ?? approval.customerId)}.</p>`,
  );
}

const alteredLink: Problem = {
  status: 403,
  title: 'Invalid link',
  detail: 'This link has been altered. Open the link exactly as it appears in the email.',
};

const alreadyDecided: Problem = {
  status: 409,
  title: 'Already decided',
  detail: 'This request has already been answered; nothing was changed.',
};

async function recordDecision(
  approval: ApprovalRecord,
  decision: 'approved' | 'rejected',
  approver: string,
  decidedAt: string,
): Promise<void> {
  await applyTransition(
    approval.release,
    approval.customerId,
    decision === 'approved' ? TRANSITIONS.approve : TRANSITIONS.reject,
    { at: decidedAt, by: approver, reason: `${decision} on the review page` },
    { approvalDecision: decision, approvedBy: approver, decidedAt },
  );
}

/** A halt answers every pending link with 423 and decides nothing; an aborted release with 410. */
async function holdRefusal(approval: ApprovalRecord): Promise<Problem | undefined> {
  const [release, customer] = await Promise.all([
    getRelease(approval.release),
    getCustomer(approval.release, approval.customerId),
  ]);
  if (!release) return undefined;
  const hold = holdOf(release, customer);
  if (hold.kind === 'halted')
    return {
      status: 423,
      title: 'Release halted',
      detail: `The rollout is halted (${hold.reason}); nothing can be decided until it is resumed. Use this link again then.`,
    };
  if (hold.kind === 'aborted')
    return {
      status: 410,
      title: 'Release aborted',
      detail: `The rollout was stopped (${hold.reason}); there is nothing left to approve.`,
    };
  return undefined;
}

function refuse(
  approval: { approvers: string[]; decision?: string; expiresAt: string },
  link: ApprovalLink,
): Problem | undefined {
  if (!approval.approvers.includes(link.approver) || link.expiresAt !== approval.expiresAt) {
    return {
      status: 403,
      title: 'Not an approver',
      detail: 'This link was not issued to an approver of this customer.',
    };
  }
  if (approval.decision) return alreadyDecided;
  if (Date.parse(now()) > Date.parse(approval.expiresAt)) {
    return {
      status: 410,
      title: 'Link expired',
      detail: 'This approval request has expired. Ask the release manager for a new one.',
    };
  }
  return undefined;
}

function parseForm(event: APIGatewayProxyEventV2): URLSearchParams {
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  return new URLSearchParams(body);
}

function reviewPage(
  approval: ApprovalRecord,
  link: ApprovalLink,
  approveSig: string,
  rejectSig: string,
): string {
  const hidden = (action: ApprovalAction, signature: string) =>
    [
      ['action', action],
      ['approver', link.approver],
      ['expires', link.expiresAt],
      ['signature', signature],
    ]
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value ?? '')}">`)
      .join('');
  const customer = approval.customerName ?? approval.customerId;
  const when =
    approval.deployAt && approval.timeZone
      ? `<p>If you approve, it is deployed in your maintenance window starting <strong>${escapeHtml(localTime(approval.deployAt, approval.timeZone))}</strong> (${escapeHtml(approval.deployAt)}). It is a minor release: backward compatible, no breaking changes.</p>`
      : '';
  return `<h1>Approve SecureWatch ${escapeHtml(approval.release)} for ${escapeHtml(customer)}?</h1>
${when}
<p>This link was sent to ${escapeHtml(link.approver)} and is valid until ${escapeHtml(link.expiresAt)}. If you reject, ${escapeHtml(customer)} stays on its current version.</p>
<div class="actions"><form method="post">${hidden('approve', approveSig)}<button type="submit" class="approve">Approve</button></form><form method="post">${hidden('reject', rejectSig)}<button type="submit" class="reject">Reject</button></form></div>`;
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}' +
  '.actions{display:flex;gap:1rem;margin-top:2rem}button{font-size:1.1rem;padding:.6rem 1.6rem;border-radius:6px;border:1px solid #888;cursor:pointer}' +
  '.approve{background:#1a7f37;color:#fff;border-color:#1a7f37}.reject{background:#fff;color:#b42318;border-color:#b42318}';

function page(statusCode: number, body: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>SecureWatch approval</title><style>${STYLE}</style></head><body>${body}</body></html>`,
  };
}

function json(statusCode: number, body: object): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  };
}

function problem(details: Problem, wantsJson: boolean): APIGatewayProxyStructuredResultV2 {
  if (wantsJson) {
    return {
      statusCode: details.status,
      headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/problem+json' },
      body: JSON.stringify({ type: 'about:blank', ...details }),
    };
  }
  return page(details.status, `<h1>${escapeHtml(details.title)}</h1><p>${escapeHtml(details.detail)}</p>`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
