import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { Resolution, type Reading } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export interface ReadingSeries {
  readings: Reading[];
  resolution: Resolution;
}

const MAX_PAGES = 20;

/** A resolution that keeps a range to at most a few thousand points (uPlot handles 10k easily). */
export function resolutionFor(start: Date, end: Date): Resolution {
  const hours = (end.getTime() - start.getTime()) / 3_600_000;
  if (hours <= 3) return Resolution.RAW;
  if (hours <= 7 * 24) return Resolution.MINUTE;
  if (hours <= 45 * 24) return Resolution.QUARTER_HOUR;
  return Resolution.HOUR;
}

/** Every page of a household's readings in [start, end). */
export async function listReadings(householdId: string, start: Date, end: Date, resolution: Resolution, signal?: AbortSignal): Promise<ReadingSeries> {
  const readings: Reading[] = [];
  let pageToken = "";
  let used = resolution;
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await callApi(routes.telemetry.listReadings({ householdId }), {
      query: {
        startTime: timestampFromDate(start),
        endTime: timestampFromDate(end),
        resolution,
        pageSize: 10_000,
        pageToken,
      },
      signal,
    });
    readings.push(...response.readings);
    used = response.resolution || resolution;
    pageToken = response.nextPageToken;
    if (!pageToken) break;
  }
  return { readings, resolution: used };
}

export const readingsQueryOptions = (householdId: string, start: Date, end: Date, resolution: Resolution) =>
  queryOptions({
    queryKey: queryKeys.readings(householdId, start.toISOString(), end.toISOString(), Resolution[resolution]),
    queryFn: ({ signal }) => listReadings(householdId, start, end, resolution, signal),
    placeholderData: keepPreviousData,
  });

export function useReadings(householdId: string, start: Date, end: Date, resolution: Resolution, refetchInterval?: number) {
  return useQuery({ ...readingsQueryOptions(householdId, start, end, resolution), refetchInterval });
}
