/** The household's live readings (StreamReadings over SSE), summed across its meters. */
import { useEffect, useState } from "react";

import { env } from "@/config/env";
import { routes } from "@/gen/routes";
import { tsDate } from "@/lib/proto-json";
import { openStream, type StreamStatus } from "@/lib/sse";

export interface LivePoint {
  time: number; // Unix seconds
  kw: number;
}

export interface LiveState {
  status: StreamStatus;
  detail?: string;
  points: LivePoint[];
  latest?: LivePoint;
  meters: number;
}

const WINDOW_SECONDS = 15 * 60;
const CONNECTING: LiveState = { status: "connecting", points: [], meters: 0 };

export function useLiveReadings(householdId: string): LiveState {
  const [state, setState] = useState<LiveState>(CONNECTING);
  // Another household starts from an empty window (set while rendering, not after the commit,
  // so the previous household's points are never shown under the new one).
  const [shownFor, setShownFor] = useState(householdId);
  if (shownFor !== householdId) {
    setShownFor(householdId);
    setState(CONNECTING);
  }

  useEffect(() => {
    const perMeter = new Map<string, number>();
    return openStream(
      { route: routes.telemetry.streamReadings({ householdId }), maxBackoffMs: env().streamMaxBackoffMs },
      {
        onStatus: (status, detail) => setState((s) => (s.status === status && s.detail === detail ? s : { ...s, status, detail })),
        onMessage: ({ reading }) => {
          if (!reading) return;
          perMeter.set(reading.meterId, reading.powerKw);
          const time = (tsDate(reading.readTime)?.getTime() ?? Date.now()) / 1000;
          const kw = [...perMeter.values()].reduce((a, b) => a + b, 0);
          setState((s) => {
            const points = [...s.points.filter((p) => p.time > time - WINDOW_SECONDS && p.time < time), { time, kw }];
            return { ...s, status: "live", detail: undefined, points, latest: { time, kw }, meters: perMeter.size };
          });
        },
      },
    );
  }, [householdId]);

  return state;
}
