import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  type ApprovalRefusal,
  type ApprovalView,
  answerApproval,
  reviewApproval,
} from '../application/approvals.js';
import type { ApprovalAction, ApprovalLink } from '../core/approval-link.js';
import { localTime } from '../email/messages.js';
import { requiredEnv } from '../shared/env.js';

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
  const method = event.requestContext?.http?.method ?? 'GET';
  const fields = method === 'POST' ? parseForm(event) : new URLSearchParams(event.rawQueryString ?? '');
  const link: ApprovalLink = {
    requestId: event.pathParameters?.id ?? '',
    approver: (fields.get('approver') ?? '').toLowerCase(),
    expiresAt: fields.get('expires') ?? '',
  };
  const key = requiredEnv('APPROVAL_SIGNING_KEY');

  if (method === 'GET') {
    const approveSig = fields.get('approve') ?? '';
    const rejectSig = fields.get('reject') ?? '';
    const review = await reviewApproval(link, { approve: approveSig, reject: rejectSig }, key);
    if (review.kind !== 'open') return problem(problemFor(review), wantsJson);
    return page(200, reviewPage(review.request, link, approveSig, rejectSig));
  }

  const action = fields.get('action');
  if (action !== 'approve' && action !== 'reject') {
    return problem(
      { status: 400, title: 'Unknown action', detail: 'Choose Approve or Reject on the review page.' },
      wantsJson,
    );
  }
  const answer = await answerApproval({ link, action, signature: fields.get('signature') ?? '' }, key);
  if (answer.kind !== 'approved' && answer.kind !== 'rejected') return problem(problemFor(answer), wantsJson);
  const { kind: decision, request } = answer;
  if (wantsJson) return json(200, { decision, customerId: request.customerId, release: request.release });
  return page(
    200,
    `<h1>Thank you</h1><p>You ${decision} SecureWatch ${escapeHtml(request.release)} for ${escapeHtml(request.customerName ?? request.customerId)}.</p>`,
  );
}

function problemFor(refusal: ApprovalRefusal): Problem {
  switch (refusal.kind) {
    case 'unknown':
      return {
        status: 404,
        title: 'Unknown approval request',
        detail: 'This link does not match any approval request. Use the link from the most recent email.',
      };
    case 'altered':
      return {
        status: 403,
        title: 'Invalid link',
        detail: 'This link has been altered. Open the link exactly as it appears in the email.',
      };
    case 'not-an-approver':
      return {
        status: 403,
        title: 'Not an approver',
        detail: 'This link was not issued to an approver of this customer.',
      };
    case 'already-decided':
      return {
        status: 409,
        title: 'Already decided',
        detail: 'This request has already been answered; nothing was changed.',
      };
    case 'expired':
      return {
        status: 410,
        title: 'Link expired',
        detail: 'This approval request has expired. Ask the release manager for a new one.',
      };
    case 'halted':
      return {
        status: 423,
        title: 'Release halted',
        detail: `The rollout is halted (${refusal.reason}); nothing can be decided until it is resumed. Use this link again then.`,
      };
    case 'aborted':
      return {
        status: 410,
        title: 'Release aborted',
        detail: `The rollout was stopped (${refusal.reason}); there is nothing left to approve.`,
      };
  }
}

function parseForm(event: APIGatewayProxyEventV2): URLSearchParams {
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  return new URLSearchParams(body);
}

function reviewPage(
  approval: ApprovalView,
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
