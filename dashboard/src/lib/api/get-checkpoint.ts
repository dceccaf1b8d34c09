import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";

/** The ledger's signed checkpoint and the consistency proof from `fromSize` (public, spec §16). */
export function getCheckpoint(fromSize: bigint, signal?: AbortSignal) {
  return callApi(routes.ledger.getCheckpoint(), { query: { fromSize }, signal });
}
