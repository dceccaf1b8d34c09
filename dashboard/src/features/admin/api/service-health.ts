/**
 * Each service's health, measured the way a user reaches it: one cheap RPC per service through
 * Envoy, timed, with the error it returned (an unreachable service shows as 503 from Envoy).
 */
import { useQueries } from "@tanstack/react-query";

import { env } from "@/config/env";
import { authorizedFetch } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export interface ServiceProbe {
  service: string;
  label: string;
  rpc: string;
  path: () => string;
}

export const PROBES: ServiceProbe[] = [
  { service: "auth", label: "Auth", rpc: "AuthService.GetJwks", path: () => "/api/v1/auth/jwks" },
  { service: "prediction", label: "Prediction", rpc: "PredictionService.GetModelInfo", path: () => `/api/v1/zones/${env().defaultZone}/model` },
  { service: "ledger", label: "Ledger", rpc: "LedgerService.GetSignedHead", path: () => "/api/v1/ledger/head" },
  { service: "telemetry", label: "Telemetry (ingest)", rpc: "TelemetryService.GetGridStats", path: () => "/api/v1/grid/stats" },
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
    await authorizedFetch(p.path(), { signal });
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
