// The health sweep's index on the release table (sparse: only items with both keys are in it), named here
// for the stack that declares it and the store that writes and queries it (store/customers.ts).

export const SWEEP_INDEX = 'SweepIndex';
/** Its partition key: RELEASE#<v>#SWEEP#<n>, n a hash of the customer's id below SWEEP_SHARDS. */
export const SWEEP_SHARD_ATTRIBUTE = 'sweepShard';
/** Its sort key: the instant the customer's silence counts from, or SWEEP_AT_ONCE. */
export const SWEEP_AT_ATTRIBUTE = 'sweepAt';
