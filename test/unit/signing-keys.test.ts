import { describe, expect, it } from 'vitest';
import { keyThatSigned, signApproval } from '../../lambdas/core/approval-link.js';
import { parseSigningKeys, rotatedKeys, verifyingKeys } from '../../lambdas/core/signing-keys.js';

const CURRENT = 'current-key-0123456789abcdef0123456789';
const PREVIOUS = 'previous-key-0123456789abcdef012345678';
const LINK = {
  requestId: 'k3Jq9xV0bT2mWcYp8LrN4A',
  approver: 'priya@contoso.example',
  expiresAt: '2027-04-22T09:00:00Z',
};

describe('signing keys', () => {
  it('read the secret’s JSON, previous optional', () => {
    expect(parseSigningKeys({ current: CURRENT })).toEqual({ current: CURRENT });
    expect(parseSigningKeys({ current: CURRENT, previous: PREVIOUS })).toEqual({
      current: CURRENT,
      previous: PREVIOUS,
    });
  });

  it('refuse a value of another shape, naming what is wrong but never quoting a key', () => {
    const short = 'too-short-a-key';
    const refusal = () => parseSigningKeys({ current: short, previous: PREVIOUS });

    expect(refusal).toThrow(/must be JSON \{"current": "<key>", "previous": "<key>"\}.*current: too_small/);
    expect(() => parseSigningKeys(undefined)).toThrow(/must be JSON/);
    try {
      refusal();
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
      expect((error as Error).message).not.toContain(PREVIOUS);
    }
  });

  it('rotate: a new key signs, the current one still verifies, the previous one is dropped', () => {
    const rotated = rotatedKeys({ current: CURRENT, previous: PREVIOUS });

    expect(rotated.previous).toBe(CURRENT);
    expect(rotated.current).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(verifyingKeys(rotated)).not.toContain(PREVIOUS);
  });

  it('find the key that signed a link, current first, and none for a retired key', () => {
    const signedBy = (key: string) => ({
      approve: signApproval(LINK, 'approve', key),
      reject: signApproval(LINK, 'reject', key),
    });

    expect(keyThatSigned(LINK, signedBy(PREVIOUS), [CURRENT, PREVIOUS])).toBe(PREVIOUS);
    expect(keyThatSigned(LINK, signedBy(CURRENT), [CURRENT, PREVIOUS])).toBe(CURRENT);
    expect(keyThatSigned(LINK, signedBy(PREVIOUS), [CURRENT])).toBeUndefined();
    expect(keyThatSigned(LINK, {}, [CURRENT])).toBeUndefined();
  });
});
