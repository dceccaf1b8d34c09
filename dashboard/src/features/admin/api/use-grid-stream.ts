/** Live grid snapshots (StreamGridStats over SSE), kept for the session to chart aggregate load. */
import { useEffect, useState } from "react";

import { env } from "@/config/env";
import { routes } from "@/gen/routes";
import { tsDate } from "@/lib/proto-json";
import { openStream, type StreamStatus } from "@/lib/sse";

export interface GridPoint {
  time: number;
  totalKw: number;
  online: number;
  ratePerSecond: number;
}

const MAX_POINTS = 3600;

export function useGridStream() {
  const [status, setStatus] = useState<StreamStatus>("connecting");
  const [points, setPoints] = useState<GridPoint[]>([]);
  useEffect(
    () =>
      openStream(
        { route: routes.telemetry.streamGridStats(), query: { intervalSeconds: 2 }, maxBackoffMs: env().streamMaxBackoffMs },
        {
          onStatus: (s) => setStatus(s),
          onMessage: ({ aggregate }) => {
            if (!aggregate) return;
            const point = {
              time: (tsDate(aggregate.snapshotTime)?.getTime() ?? Date.now()) / 1000,
              totalKw: aggregate.totalPowerKw,
              online: aggregate.metersOnline,
              ratePerSecond: aggregate.ingestRatePerSecond,
            };
            setPoints((prev) => [...prev.slice(-MAX_POINTS + 1), point]);
          },
        },
      ),
    [],
  );
  return { status, points };
}
