import { resolveCustomerName, resolveCustomerNames } from '../core/customer-names.js';
import { UserFacingError } from '../core/errors.js';
import { type CustomerRecord, customerNamesOf, getCustomer } from '../store/customers.js';
import { getRelease, type ReleaseRecord } from '../store/releases.js';

// The release and the customers an operator names on the command line, or an error naming the fix.

/** The release `version`, or an error saying it was never planned and how to start it. */
export async function requireKnownRelease(version: string): Promise<ReleaseRecord> {
  const record = await getRelease(version);
  if (!record)
    throw new UserFacingError(
      `no release ${version} has been planned or started. Fix: check the version, or start it with: start-phase --version ${version} --phase demo`,
    );
  return record;
}

/**
 * The customer of the release a person means by `query`: its id (one read), else its name as
 * resolveCustomerName reads it (case-insensitive, a unique prefix), among the release's customers.
 */
export async function resolveReleaseCustomer(release: string, query: string): Promise<CustomerRecord> {
  const byId = await getCustomer(release, query.trim());
  if (byId) return byId;
  const named = resolveCustomerName(query, await customerNamesOf(release));
  const customer = await getCustomer(release, named.id);
  if (!customer) throw new UserFacingError(`${named.id} is no longer a customer of ${release}`);
  return customer;
}

/** The customers of the release a comma-separated list names (ids or names), each once, in order. */
export async function resolveReleaseCustomers(
  release: string,
  list: string,
): Promise<{ id: string; name: string }[]> {
  return resolveCustomerNames(list, await customerNamesOf(release));
}
