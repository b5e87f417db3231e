import { UserFacingError } from './errors.js';

export interface NamedCustomer {
  id: string;
  name: string;
}

/** A name that matches no customer, or several: the message lists the candidates to choose from. */
export class CustomerNameError extends UserFacingError {}

const normalise = (text: string) => text.trim().toLowerCase().replace(/\s+/g, ' ');

/**
 * The customer a person means by `query`: its id or its name (case-insensitive), or the one customer whose
 * name starts with it ("ACME Corp" for "ACME Corporation"). A query matching none or several is an error
 * that lists the candidates.
 */
export function resolveCustomerName<Customer extends NamedCustomer>(
  query: string,
  customers: readonly Customer[],
): Customer {
  const wanted = normalise(query);
  if (!wanted) throw new CustomerNameError('a customer name must not be empty');
  const exact = customers.filter(
    (customer) => normalise(customer.id) === wanted || normalise(customer.name) === wanted,
  );
  if (exact.length === 1) return exact[0] as Customer;
  const starting = exact.length
    ? exact
    : customers.filter((customer) => normalise(customer.name).startsWith(wanted));
  if (starting.length === 1) return starting[0] as Customer;
  if (starting.length > 1)
    throw new CustomerNameError(
      `"${query}" matches ${starting.length} customers: ${listed(starting)}; give the full name or the id`,
    );
  const containing = customers.filter(
    (customer) => normalise(customer.name).includes(wanted) || normalise(customer.id).includes(wanted),
  );
  throw new CustomerNameError(
    containing.length
      ? `no customer is named "${query}"; did you mean ${listed(containing)}?`
      : `no customer is named "${query}"; list them with: customers list`,
  );
}

/** Every customer a comma-separated list names, each resolved as `resolveCustomerName` does, in order, once. */
export function resolveCustomerNames<Customer extends NamedCustomer>(
  list: string,
  customers: readonly Customer[],
): Customer[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (!names.length)
    throw new CustomerNameError('name at least one customer, e.g. "ACME Corp,TechStart Inc"');
  const resolved = new Map<string, Customer>();
  const problems: string[] = [];
  for (const name of names) {
    try {
      const customer = resolveCustomerName(name, customers);
      resolved.set(customer.id, customer);
    } catch (error) {
      if (!(error instanceof CustomerNameError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length) throw new CustomerNameError(problems.join('\n'));
  return [...resolved.values()];
}

const MAX_LISTED = 10;

function listed(customers: readonly NamedCustomer[]): string {
  const shown = customers.slice(0, MAX_LISTED).map((customer) => `"${customer.name}" (${customer.id})`);
  const more = customers.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}
