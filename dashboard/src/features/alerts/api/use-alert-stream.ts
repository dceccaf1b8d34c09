/** The household's unread count and new alerts, live (WatchAlerts over SSE). */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { env } from "@/config/env";
import type { Alert } from "@/gen/energypulse/alert/v1/alert_pb";
import { routes } from "@/gen/routes";
import { queryKeys } from "@/lib/query-keys";
import { openStream, type StreamStatus } from "@/lib/sse";

export interface AlertStreamState {
  status: StreamStatus;
  unread: number;
  /** The newest alert pushed since the page opened (the live region words its title). */
  latest?: Alert;
}

export function useAlertStream(householdId: string): AlertStreamState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<AlertStreamState>({ status: "connecting", unread: 0 });
  const [shownFor, setShownFor] = useState(householdId);
  if (shownFor !== householdId) {
    setShownFor(householdId);
    setState({ status: "connecting", unread: 0 });
  }

  useEffect(
    () =>
      openStream(
        { route: routes.alert.watchAlerts({ householdId }), maxBackoffMs: env().streamMaxBackoffMs },
        {
          onStatus: (status) => setState((s) => (s.status === status ? s : { ...s, status })),
          onMessage: ({ alert, unreadCount }) => {
            setState((s) => ({ ...s, status: "live", unread: unreadCount, latest: alert ?? s.latest }));
            if (alert) void queryClient.invalidateQueries({ queryKey: queryKeys.alerts(householdId) });
          },
        },
      ),
    [householdId, queryClient],
  );
  return state;
}
