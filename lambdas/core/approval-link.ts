import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// An approval link names an opaque request id, an action, the approver and an expiry, and carries an
// HMAC over all four. The task token never leaves the table.

export type ApprovalAction = 'approve' | 'reject';

export interface ApprovalLink {
  requestId: string;
  approver: string;
  expiresAt: string;
}

/** Longest request id a link may name: ours are 22 characters, DynamoDB refuses keys over 2,048 bytes. */
export const MAX_APPROVAL_REQUEST_ID_LENGTH = 128;

/** Whether `id` can be a request id at all (URL-safe, short), checked before it reaches the store. */
export function isApprovalRequestId(id: string): boolean {
  return id.length <= MAX_APPROVAL_REQUEST_ID_LENGTH && /^[A-Za-z0-9_-]+$/.test(id);
}

/** 128 random bits, URL-safe. */
export function newApprovalRequestId(): string {
  return randomBytes(16).toString('base64url');
}

export function signApproval(link: ApprovalLink, action: ApprovalAction, key: string): string {
  return createHmac('sha256', key)
    .update([link.requestId, action, link.approver, link.expiresAt].join('\n'))
    .digest('base64url');
}

export function verifyApproval(
  link: ApprovalLink,
  action: ApprovalAction,
  signature: string,
  key: string,
): boolean {
  const expected = Buffer.from(signApproval(link, action, key));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Which of `keys` (current first, then previous) signed every given action of the link, so a link
 * emailed before a rotation still opens; undefined when none did (altered, or signed with a retired key).
 */
export function keyThatSigned(
  link: ApprovalLink,
  signatures: Partial<Record<ApprovalAction, string>>,
  keys: readonly string[],
): string | undefined {
  const signed = Object.entries(signatures) as [ApprovalAction, string][];
  if (signed.length === 0) return undefined;
  return keys.find((key) =>
    signed.every(([action, signature]) => verifyApproval(link, action, signature, key)),
  );
}

/** The review page URL for one approver: GET shows the page, only its buttons' POSTs act. */
export function reviewUrl(baseUrl: string, link: ApprovalLink, key: string): string {
  const params = new URLSearchParams({
    approver: link.approver,
    expires: link.expiresAt,
    approve: signApproval(link, 'approve', key),
    reject: signApproval(link, 'reject', key),
  });
  return `${baseUrl.replace(/\/$/, '')}/approvals/${link.requestId}?${params.toString()}`;
}

// The code an approver types to decide: shown as text on the review page and in no form field, so a mail
// scanner that submits the page's forms sends none. Derived from the link, so nothing more is stored.
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const CONFIRMATION_CODE_LENGTH = 6;

export function confirmationCode(link: ApprovalLink, key: string): string {
  const digest = createHmac('sha256', key)
    .update(['confirm', link.requestId, link.approver, link.expiresAt].join('\n'))
    .digest();
  return [...digest.subarray(0, CONFIRMATION_CODE_LENGTH)]
    .map((byte) => CODE_ALPHABET[byte % CODE_ALPHABET.length])
    .join('');
}

/** Compares in constant time; case, spaces and dashes as typed do not matter. */
export function verifyConfirmationCode(link: ApprovalLink, typed: string, key: string): boolean {
  const expected = Buffer.from(confirmationCode(link, key));
  const given = Buffer.from(typed.toUpperCase().replace(/[\s-]/g, '').slice(0, 64));
  return expected.length === given.length && timingSafeEqual(expected, given);
}
