/**
 * Each service's health, measured the way a user reaches it: one cheap RPC per service through
 * Envoy, timed, with the error it returned (an unreachable service shows as 503 from Envoy).
 */
import { useQueries } from "@tanstack/react-query";

import { env } from "@/config/env";
import { routes, type Route } from "@/gen/routes";
import { authorizedFetch } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export interface ServiceProbe {
  service: string;
  label: string;
  /** The probed RPC (a function: the prediction probe's zone comes from the environment). */
  route: () => Route;
}

export const PROBES: ServiceProbe[] = [
  { service: "auth", label: "Auth", route: () => routes.auth.getJwks() },
  { service: "prediction", label: "Prediction", route: () => routes.prediction.getModelInfo({ zone: env().defaultZone }) },
  { service: "ledger", label: "Ledger", route: () => routes.ledger.getSignedHead() },
  { service: "telemetry", label: "Telemetry (ingest)", route: () => routes.telemetry.getGridStats() },
];

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  checkedAt: number;
  detail: string;
}

export async function probe(p: ServiceProbe, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  try {
    await authorizedFetch(p.route(), { signal });
    return { ok: true, latencyMs: performance.now() - started, checkedAt: Date.now(), detail: "OK" };
  } catch (error) {
    return { ok: false, latencyMs: performance.now() - started, checkedAt: Date.now(), detail: error instanceof Error ? error.message : String(error) };
  }
}

export function useServiceHealth() {
  return useQueries({
    queries: PROBES.map((p) => ({
      queryKey: queryKeys.serviceHealth(p.service),
      queryFn: ({ signal }: { signal: AbortSignal }) => probe(p, signal),
      refetchInterval: 10_000,
    })),
  });
}
