import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// An approval link names an opaque request id, an action, the approver and an expiry, and carries an
// HMAC over all four. The task token never leaves the table.

export type ApprovalAction = 'approve' | 'reject';

export interface ApprovalLink {
  requestId: string;
  approver: string;
  expiresAt: string;
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
