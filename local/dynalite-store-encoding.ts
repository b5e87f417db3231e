import memoryLevel from 'memory-level';

// dynalite keeps its in-memory tables in memory-level, which by default stores every key and value as a
// Buffer. Buffer.from(string) takes small buffers from Node's shared 8 KiB pool, so each stored item pinned
// a whole pool slab: about 8 KiB per item, 2.5 GiB at 10,000 customers. Stored as strings, each item is
// JSON text on the JavaScript heap, reclaimed by the garbage collector once overwritten. Keys then sort as
// UTF-16 text, which is DynamoDB's UTF-8 byte order except for characters beyond U+FFFF against U+E000–U+FFFF
// (none of the orchestrator's keys has either). Imported before dynalite, which takes MemoryLevel from the
// module when it loads.

const { MemoryLevel } = memoryLevel;

class StringStoredMemoryLevel<K, V> extends MemoryLevel<K, V> {
  constructor(options?: ConstructorParameters<typeof MemoryLevel<K, V>>[0]) {
    super({ ...options, storeEncoding: 'utf8' });
  }
}

memoryLevel.MemoryLevel = StringStoredMemoryLevel;
