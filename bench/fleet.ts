import type { Customer, Fleet } from '../lambdas/core/model.js';

/** A fleet of `size` customers cloned round-robin from `sample`, each with its own id and name. */
export function generatedFleet(sample: Fleet, size: number): Fleet {
  const customers: Customer[] = Array.from({ length: size }, (_, index) => {
    const original = sample.customers[index % sample.customers.length] as Customer;
    const copy = Math.floor(index / sample.customers.length);
    return { ...original, id: `${original.id}-${copy}`, name: `${original.name} #${copy}` };
  });
  return { customers };
}
