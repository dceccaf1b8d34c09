/** Thin helpers between Envoy's proto3 JSON and the generated message types. */
import { create, fromJson, toJson, type DescEnum, type DescMessage, type JsonValue, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";

/** Parses a JSON body into a typed message; unknown fields (a newer server) are ignored. */
export function parseMessage<Desc extends DescMessage>(schema: Desc, json: unknown): MessageShape<Desc> {
  return fromJson(schema, (json ?? {}) as JsonValue, { ignoreUnknownFields: true });
}

/**
 * A request body as proto3 JSON from a typed init of the request message (lowerCamelCase, int64
 * as strings, enums by their proto name such as "ROLE_ADMIN"; fields at their default are left out).
 */
export function requestJson<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): JsonValue {
  return toJson(schema, create(schema, init));
}

/** An enum value's proto name (RESOLUTION_MINUTE), as a query parameter takes it. */
export function enumName(schema: DescEnum, value: number): string {
  const named = schema.values.find((v) => v.number === value);
  if (!named) throw new RangeError(`${String(value)} is not a value of ${schema.typeName}`);
  return named.name;
}

export function tsDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

/** Exact Unix milliseconds of a Timestamp (the ledger's encoding uses ms). */
export function tsMs(ts: Timestamp | undefined): bigint {
  if (!ts) return 0n;
  return ts.seconds * 1000n + BigInt(Math.floor(ts.nanos / 1_000_000));
}

/** RFC 3339 string for a query parameter. */
export function isoTime(date: Date): string {
  return date.toISOString();
}

export { timestampFromMs };
