import type {
  AttributeDefinition,
  CreateTableCommandInput,
  GlobalSecondaryIndex,
  KeySchemaElement,
  LocalSecondaryIndex,
  Projection,
  ProvisionedThroughput,
} from '@aws-sdk/client-dynamodb';
import { type CloudFormationResource, isIntrinsic } from './template-types.js';

export const TABLE_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
]);

// Capacity means nothing locally; it only has to satisfy dynalite's validation of PROVISIONED tables.
const LOCAL_THROUGHPUT: ProvisionedThroughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };

/**
 * The CreateTable request that builds a table resource of a synthesized template, named `tableName`.
 * Stream, TTL, encryption, tags and replica settings have no local effect and are left out.
 */
export function createTableInputFromResource(
  logicalId: string,
  resource: CloudFormationResource,
  tableName: string,
): CreateTableCommandInput {
  const read = new LiteralReader(`${resource.Type} "${logicalId}"`);
  const properties = resource.Properties ?? {};
  const onDemand = read.billingMode(properties.BillingMode, 'Properties.BillingMode') === 'PAY_PER_REQUEST';
  const input: CreateTableCommandInput = {
    TableName: tableName,
    KeySchema: read.keySchema(properties.KeySchema, 'Properties.KeySchema'),
    AttributeDefinitions: read.attributeDefinitions(properties.AttributeDefinitions),
  };
  if (onDemand) {
    input.BillingMode = 'PAY_PER_REQUEST';
  } else {
    input.BillingMode = 'PROVISIONED';
    input.ProvisionedThroughput = literalThroughput(properties.ProvisionedThroughput);
  }
  if (properties.GlobalSecondaryIndexes !== undefined) {
    input.GlobalSecondaryIndexes = read
      .list(properties.GlobalSecondaryIndexes, 'Properties.GlobalSecondaryIndexes')
      .map((index, i): GlobalSecondaryIndex => {
        const path = `Properties.GlobalSecondaryIndexes[${i}]`;
        const fields = read.object(index, path);
        return {
          ...read.index(fields, path),
          ...(onDemand ? {} : { ProvisionedThroughput: literalThroughput(fields.ProvisionedThroughput) }),
        };
      });
  }
  if (properties.LocalSecondaryIndexes !== undefined) {
    input.LocalSecondaryIndexes = read
      .list(properties.LocalSecondaryIndexes, 'Properties.LocalSecondaryIndexes')
      .map((index, i): LocalSecondaryIndex => {
        const path = `Properties.LocalSecondaryIndexes[${i}]`;
        return read.index(read.object(index, path), path);
      });
  }
  return input;
}

function literalThroughput(value: unknown): ProvisionedThroughput {
  if (typeof value !== 'object' || value === null) return { ...LOCAL_THROUGHPUT };
  const { ReadCapacityUnits, WriteCapacityUnits } = value as Record<string, unknown>;
  const units = (v: unknown, fallback: number | undefined) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 ? n : fallback;
  };
  return {
    ReadCapacityUnits: units(ReadCapacityUnits, LOCAL_THROUGHPUT.ReadCapacityUnits),
    WriteCapacityUnits: units(WriteCapacityUnits, LOCAL_THROUGHPUT.WriteCapacityUnits),
  };
}

/** Reads template values that must be literal, failing with the resource and property path. */
class LiteralReader {
  constructor(private readonly resource: string) {}

  fail(path: string, problem: string): never {
    throw new Error(`Cannot create the local table for ${this.resource}: ${path} ${problem}.`);
  }

  private literal(value: unknown, path: string): unknown {
    if (isIntrinsic(value)) {
      this.fail(
        path,
        `is the CloudFormation intrinsic ${JSON.stringify(value)}; the local rehearsal needs a literal value here, so give it one in the CDK code`,
      );
    }
    return value;
  }

  object(value: unknown, path: string): Record<string, unknown> {
    const literal = this.literal(value, path);
    if (typeof literal !== 'object' || literal === null || Array.isArray(literal)) {
      this.fail(path, `must be an object, got ${JSON.stringify(literal)}`);
    }
    return literal as Record<string, unknown>;
  }

  list(value: unknown, path: string): unknown[] {
    const literal = this.literal(value, path);
    if (!Array.isArray(literal) || literal.length === 0) {
      this.fail(path, `must be a non-empty list, got ${JSON.stringify(literal)}`);
    }
    return literal;
  }

  string(value: unknown, path: string): string {
    const literal = this.literal(value, path);
    if (typeof literal !== 'string' || literal === '') {
      this.fail(path, `must be a non-empty string, got ${JSON.stringify(literal)}`);
    }
    return literal;
  }

  oneOf<const T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
    const text = this.string(value, path);
    if (!(allowed as readonly string[]).includes(text)) {
      this.fail(path, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
    }
    return text as T;
  }

  billingMode(value: unknown, path: string): 'PAY_PER_REQUEST' | 'PROVISIONED' {
    return value === undefined ? 'PROVISIONED' : this.oneOf(value, path, ['PAY_PER_REQUEST', 'PROVISIONED']);
  }

  keySchema(value: unknown, path: string): KeySchemaElement[] {
    return this.list(value, path).map((element, i) => {
      const fields = this.object(element, `${path}[${i}]`);
      return {
        AttributeName: this.string(fields.AttributeName, `${path}[${i}].AttributeName`),
        KeyType: this.oneOf(fields.KeyType, `${path}[${i}].KeyType`, ['HASH', 'RANGE']),
      };
    });
  }

  attributeDefinitions(value: unknown): AttributeDefinition[] {
    const path = 'Properties.AttributeDefinitions';
    return this.list(value, path).map((element, i) => {
      const fields = this.object(element, `${path}[${i}]`);
      return {
        AttributeName: this.string(fields.AttributeName, `${path}[${i}].AttributeName`),
        AttributeType: this.oneOf(fields.AttributeType, `${path}[${i}].AttributeType`, ['S', 'N', 'B']),
      };
    });
  }

  index(fields: Record<string, unknown>, path: string) {
    return {
      IndexName: this.string(fields.IndexName, `${path}.IndexName`),
      KeySchema: this.keySchema(fields.KeySchema, `${path}.KeySchema`),
      Projection: this.projection(fields.Projection, `${path}.Projection`),
    };
  }

  projection(value: unknown, path: string): Projection {
    const fields = this.object(value, path);
    const projection: Projection = {
      ProjectionType: this.oneOf(fields.ProjectionType ?? 'KEYS_ONLY', `${path}.ProjectionType`, [
        'ALL',
        'KEYS_ONLY',
        'INCLUDE',
      ]),
    };
    if (fields.NonKeyAttributes !== undefined) {
      projection.NonKeyAttributes = this.list(fields.NonKeyAttributes, `${path}.NonKeyAttributes`).map(
        (name, i) => this.string(name, `${path}.NonKeyAttributes[${i}]`),
      );
    }
    return projection;
  }
}
