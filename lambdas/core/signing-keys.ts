import { randomBytes } from 'node:crypto';
import * as z from 'zod';

// The approval signing key as the secret holds it: the key that signs new links, and the one it replaced,
// which still verifies links emailed before the last rotation. A key two rotations old verifies nothing.

/** Shortest key accepted: 256 bits of base64url, or the stack's generated 64 letters and digits. */
export const MIN_SIGNING_KEY_LENGTH = 32;

const key = z.string().min(MIN_SIGNING_KEY_LENGTH);

export const signingKeysSchema = z.strictObject({
  current: key,
  /** Absent until the first rotation. */
  previous: key.optional(),
});

export type SigningKeys = z.infer<typeof signingKeysSchema>;

/** The keys in the order a signature is checked against them: the current one first. */
export function verifyingKeys(keys: SigningKeys): string[] {
  return keys.previous === undefined ? [keys.current] : [keys.current, keys.previous];
}

/** After a rotation: `next` signs, the current key still verifies, the previous one is forgotten. */
export function rotatedKeys(keys: SigningKeys, next: string = newSigningKey()): SigningKeys {
  return { current: next, previous: keys.current };
}

/** 384 random bits, URL-safe. */
export function newSigningKey(): string {
  return randomBytes(48).toString('base64url');
}

/** Reads the secret's value, with an error that names what is wrong but never shows the value. */
export function parseSigningKeys(secretValue: unknown): SigningKeys {
  const parsed = signingKeysSchema.safeParse(secretValue);
  if (!parsed.success)
    throw new Error(
      `The approval signing secret must be JSON {"current": "<key>", "previous": "<key>"} with keys of at least ${MIN_SIGNING_KEY_LENGTH} characters (previous is optional); ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.code}`).join(', ')}`,
    );
  return parsed.data;
}
