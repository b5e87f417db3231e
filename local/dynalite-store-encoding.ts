import memoryLevel from 'memory-level';

// dynalite keeps its in-memory tables in memory-level, which by default stores every key and value as a
// Buffer. Buffer.from(string) takes small buffers from Node's shared 8 KiB pool, so each stored item pins
// a whole pool slab: about 8 KiB per item, 2.5 GiB at 10,000 customers. Stored as Uint8Array views, each
// item holds only its own bytes, and keys still sort by their UTF-8 bytes as DynamoDB sorts them.
// Imported before dynalite, which takes MemoryLevel from the module when it loads.

const { MemoryLevel } = memoryLevel;

class ViewStoredMemoryLevel<K, V> extends MemoryLevel<K, V> {
  constructor(options?: ConstructorParameters<typeof MemoryLevel<K, V>>[0]) {
    super({ ...options, storeEncoding: 'view' });
  }
}

memoryLevel.MemoryLevel = ViewStoredMemoryLevel;
