import { describe, expect, it } from 'vitest';
import { resolveCustomerName, resolveCustomerNames } from '../../lambdas/core/customer-names.js';

const fleet = [
  { id: 'acme-corp', name: 'ACME Corporation' },
  { id: 'acme-labs', name: 'Acme Labs' },
  { id: 'techstart', name: 'TechStart Inc' },
];

describe('naming customers on the command line', () => {
  it('finds a customer by its id or its full name, whatever the case', () => {
    expect(resolveCustomerName('ACME-CORP', fleet).id).toBe('acme-corp');
    expect(resolveCustomerName('acme corporation', fleet).id).toBe('acme-corp');
  });

  it('takes the one customer whose name starts with what was typed', () => {
    expect(resolveCustomerName('ACME Corp', fleet).id).toBe('acme-corp');
  });

  it('refuses a name that matches several customers, listing them', () => {
    expect(() => resolveCustomerName('acme', fleet)).toThrow(
      /"acme" matches 2 customers: "ACME Corporation" \(acme-corp\), "Acme Labs" \(acme-labs\)/,
    );
  });

  it('refuses a name that matches none, suggesting the nearest', () => {
    expect(() => resolveCustomerName('Labs', fleet)).toThrow(/did you mean "Acme Labs" \(acme-labs\)\?/);
    expect(() => resolveCustomerName('Globex', fleet)).toThrow(/list them with: customers list/);
  });

  it('resolves a comma-separated list once each, and reports every name that fails', () => {
    expect(resolveCustomerNames('ACME Corp, TechStart Inc, acme-corp', fleet).map((c) => c.id)).toEqual([
      'acme-corp',
      'techstart',
    ]);
    expect(() => resolveCustomerNames('Globex,acme', fleet)).toThrow(/Globex[\s\S]*matches 2 customers/);
  });
});
