/** Thin helpers between Envoy's proto3 JSON and the generated message types. */
import { fromJson, toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";

/** Parses a JSON body into a typed message; unknown fields (a newer server) are ignored. */
export function parseMessage<Desc extends DescMessage>(schema: Desc, json: unknown): MessageShape<Desc> {
  return fromJson(schema, (json ?? {}) as JsonValue, { ignoreUnknownFields: true });
}

/** Serialises a typed message to proto3 JSON (lowerCamelCase, int64 as strings). */
export function messageJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  return toJson(schema, message);
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
