import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  type ApprovalRefusal,
  type ApprovalView,
  answerApproval,
  reviewApproval,
} from '../application/approvals.js';
import { type ApprovalAction, type ApprovalLink, isApprovalRequestId } from '../core/approval-link.js';
import { localTime } from '../email/messages.js';
import { logger, observeInvocation, operationOf } from '../shared/observability.js';
import { withSigningKeys } from '../shared/signing-keys.js';

// The approval page behind an emailed link. A GET only shows the request (mail scanners open every link);
// only a POST from the page's form decides, once, and only with the confirmation code the page shows as
// text typed into its empty field: a scanner that submits the page's forms sends no code and decides nothing.

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

/** Largest form or JSON body a POST may carry; the page's form is well under 1 KiB. */
export const MAX_BODY_BYTES = 8 * 1024;
/** Longest query string a link may carry; an emailed link's is under 300 characters. */
export const MAX_QUERY_LENGTH = 2 * 1024;

type Problem = { status: number; title: string; detail: string };
type Fields = URLSearchParams;

export function handler(
  event: APIGatewayProxyEventV2,
  context?: unknown,
): Promise<APIGatewayProxyStructuredResultV2> {
  return observeInvocation({ operation: operationOf(context) }, () => respond(event));
}

async function respond(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext?.http?.method ?? 'GET';
  const wantsJson =
    headerIn(event, 'accept').includes('application/json') ||
    (method === 'POST' && mediaTypeOf(event) === 'application/json');
  const fields = method === 'POST' ? parseBody(event) : parseQuery(event);
  if (!(fields instanceof URLSearchParams)) return problem(fields, wantsJson);
  const requestId = event.pathParameters?.id ?? '';
  if (!isApprovalRequestId(requestId)) return problem(problemFor({ kind: 'unknown' }), wantsJson);
  const link: ApprovalLink = {
    requestId,
    approver: (fields.get('approver') ?? '').toLowerCase(),
    expiresAt: fields.get('expires') ?? '',
  };
  const signatures = { approve: fields.get('approve') ?? '', reject: fields.get('reject') ?? '' };

  if (method === 'GET') {
    const review = await withSigningKeys((keys) => reviewApproval(link, signatures, keys));
    if (review.kind !== 'open') return refused(review, method, wantsJson);
    return page(200, reviewPage(review.request, review.confirmationCode, link, signatures));
  }

  const action = fields.get('action');
  if (action !== 'approve' && action !== 'reject') {
    return problem(
      { status: 400, title: 'Unknown action', detail: 'Choose Approve or Reject on the review page.' },
      wantsJson,
    );
  }
  const signature = fields.get('signature') ?? signatures[action];
  const confirmation = fields.get('confirmation') ?? '';
  const answer = await withSigningKeys((keys) =>
    answerApproval({ link, action, signature, confirmation }, keys),
  );
  if (answer.kind === 'unconfirmed') {
    logger.info('Approval not confirmed');
    const unconfirmed = unconfirmedProblem(answer.typed);
    if (wantsJson) return problem(unconfirmed, true);
    const shown = { ...signatures, [action]: signature };
    const notice = `${unconfirmed.title}. ${unconfirmed.detail}`;
    return page(unconfirmed.status, reviewPage(answer.request, answer.confirmationCode, link, shown, notice));
  }
  if (answer.kind !== 'approved' && answer.kind !== 'rejected') return refused(answer, method, wantsJson);
  const { kind: decision, request } = answer;
  if (wantsJson) return json(200, { decision, customerId: request.customerId, release: request.release });
  return page(
    200,
    `<h1>Thank you</h1><p>You ${decision} ${request.purpose === 'rollback' ? 'the rollback of ' : ''}SecureWatch ${escapeHtml(request.release)} for ${escapeHtml(request.customerName ?? request.customerId)}.</p>`,
  );
}

/** A link that cannot be used now: logged by the reason's kind (never the link), answered with the problem. */
function refused(
  refusal: ApprovalRefusal,
  method: string,
  wantsJson: boolean,
): APIGatewayProxyStructuredResultV2 {
  logger.info('Approval link refused', { refusal: refusal.kind, method });
  return problem(problemFor(refusal), wantsJson);
}

function unconfirmedProblem(typed: boolean): Problem {
  return typed
    ? {
        status: 422,
        title: 'The confirmation code does not match',
        detail: 'Nothing was decided. Type the code shown on the page exactly, then press Approve or Reject.',
      }
    : {
        status: 422,
        title: 'Type the confirmation code first',
        detail: 'Nothing was decided. Type the code shown on the page, then press Approve or Reject.',
      };
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

function parseQuery(event: APIGatewayProxyEventV2): Fields | Problem {
  const query = event.rawQueryString ?? '';
  if (query.length > MAX_QUERY_LENGTH)
    return {
      status: 414,
      title: 'Link too long',
      detail: 'Open the link exactly as it appears in the email.',
    };
  return new URLSearchParams(query);
}

/** The page's form (urlencoded) or the same fields as a JSON object of strings, at most MAX_BODY_BYTES. */
function parseBody(event: APIGatewayProxyEventV2): Fields | Problem {
  const mediaType = mediaTypeOf(event);
  if (mediaType !== 'application/x-www-form-urlencoded' && mediaType !== 'application/json') {
    return {
      status: 415,
      title: 'Unsupported content type',
      detail: 'Send the form as application/x-www-form-urlencoded, or its fields as application/json.',
    };
  }
  const raw = event.body ?? '';
  const tooLarge: Problem = {
    status: 413,
    title: 'Request too large',
    detail: `A decision is a few short fields; bodies over ${MAX_BODY_BYTES} bytes are refused.`,
  };
  if (raw.length > (event.isBase64Encoded ? Math.ceil((MAX_BODY_BYTES * 4) / 3) + 4 : MAX_BODY_BYTES * 4))
    return tooLarge;
  const bytes = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES) return tooLarge;
  const body = bytes.toString('utf8');
  if (mediaType === 'application/x-www-form-urlencoded') return new URLSearchParams(body);
  const notFields: Problem = {
    status: 400,
    title: 'Malformed request',
    detail:
      'Send a JSON object of strings: action, approver, expires, signature and confirmation (the code on the review page).',
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return notFields;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return notFields;
  const entries = Object.entries(parsed);
  if (!entries.every((entry): entry is [string, string] => typeof entry[1] === 'string')) return notFields;
  return new URLSearchParams(entries);
}

function headerIn(event: APIGatewayProxyEventV2, name: string): string {
  const headers = event.headers ?? {};
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? '' : String(headers[key] ?? '');
}

function mediaTypeOf(event: APIGatewayProxyEventV2): string {
  return (headerIn(event, 'content-type').split(';')[0] ?? '').trim().toLowerCase();
}

function reviewPage(
  approval: ApprovalView,
  code: string,
  link: ApprovalLink,
  signatures: Record<ApprovalAction, string>,
  notice?: string,
): string {
  const hidden = [
    ['approver', link.approver],
    ['expires', link.expiresAt],
    ['approve', signatures.approve],
    ['reject', signatures.reject],
  ]
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value ?? '')}">`)
    .join('');
  const customer = approval.customerName ?? approval.customerId;
  if (approval.purpose === 'rollback')
    return `<h1>ROLLBACK: approve rolling ${escapeHtml(customer)} back from SecureWatch ${escapeHtml(approval.release)}?</h1>
<p>This is a rollback request. ${escapeHtml(approval.reason ? `Reason: ${approval.reason}.` : '')} If you approve, ${escapeHtml(customer)} is rolled back to its previous version in its next maintenance window.</p>
${decisionForm(code, link, hidden, notice, `If you reject, ${customer} stays on ${approval.release}.`)}`;
  const when =
    approval.deployAt && approval.timeZone
      ? `<p>If you approve, it is deployed in your maintenance window starting <strong>${escapeHtml(localTime(approval.deployAt, approval.timeZone))}</strong> (${escapeHtml(approval.deployAt)}). It is a minor release: backward compatible, no breaking changes.</p>`
      : '';
  return `<h1>Approve SecureWatch ${escapeHtml(approval.release)} for ${escapeHtml(customer)}?</h1>
${when}
${decisionForm(code, link, hidden, notice, `If you reject, ${customer} stays on its current version.`)}`;
}

function decisionForm(
  code: string,
  link: ApprovalLink,
  hidden: string,
  notice: string | undefined,
  ifRejected: string,
): string {
  return `<p>This link was sent to ${escapeHtml(link.approver)} and is valid until ${escapeHtml(link.expiresAt)}. ${escapeHtml(ifRejected)}</p>
${notice ? `<p class="notice" role="alert">${escapeHtml(notice)}</p>` : ''}
<form method="post">${hidden}
<p><label for="confirmation">To decide, type the code <strong class="code" id="confirmation-code">${escapeHtml(code)}</strong> into this field:</label></p>
<input type="text" id="confirmation" name="confirmation" value="" required autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="16">
<div class="actions"><button type="submit" name="action" value="approve" class="approve">Approve</button><button type="submit" name="action" value="reject" class="reject">Reject</button></div></form>`;
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}' +
  '.code{font-family:ui-monospace,monospace;letter-spacing:.2em;font-size:1.2rem}.notice{color:#b42318;font-weight:600}' +
  'input[name=confirmation]{font:1.2rem ui-monospace,monospace;letter-spacing:.2em;padding:.4rem;width:9rem}' +
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
