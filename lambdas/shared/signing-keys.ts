import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { parseSigningKeys, type SigningKeys } from '../core/signing-keys.js';
import { requiredEnv } from './env.js';

// The approval signing keys, read from Secrets Manager at run time (never from the environment, which
// holds only the secret's ARN) and cached for a few minutes per function instance.

/** How long a function instance uses the keys it read before reading them again. */
export const SIGNING_KEYS_MAX_AGE_SECONDS = 300;
/** After a rotation, a link this instance cannot verify reads the keys again, at most this often. */
export const SIGNING_KEYS_REFRESH_SECONDS = 30;

let provider: SecretsProvider | undefined;
let refreshedAt = 0;

/** The current and previous keys (cached): the current one signs, both verify. */
export async function signingKeys(): Promise<SigningKeys> {
  return read(false);
}

/**
 * Runs `use` with the cached keys; when it finds the link altered, reads the keys again (at most once per
 * SIGNING_KEYS_REFRESH_SECONDS) and runs it once more, so a link signed with a key rotated in while this
 * instance held the old ones still opens. `use` must change nothing when it returns `altered`.
 */
export async function withSigningKeys<T extends { kind: string }>(
  use: (keys: SigningKeys) => Promise<T>,
): Promise<T> {
  const result = await use(await signingKeys());
  if (result.kind !== 'altered' || Date.now() - refreshedAt < SIGNING_KEYS_REFRESH_SECONDS * 1000)
    return result;
  refreshedAt = Date.now();
  return use(await read(true));
}

/** Forgets the keys and the client, so the next read uses the current environment (local rehearsal, tests). */
export function forgetSigningKeys(): void {
  provider = undefined;
  refreshedAt = 0;
}

async function read(forceFetch: boolean): Promise<SigningKeys> {
  provider ??= new SecretsProvider();
  const value = await provider.get(requiredEnv('APPROVAL_SIGNING_SECRET_ID'), {
    maxAge: SIGNING_KEYS_MAX_AGE_SECONDS,
    forceFetch,
  });
  // Parsed here rather than by Powertools' json transform, whose error would quote the start of the value.
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : '');
  } catch {
    parsed = undefined;
  }
  return parseSigningKeys(parsed);
}
