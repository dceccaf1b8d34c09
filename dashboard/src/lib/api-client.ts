/**
 * The one API client: same-origin fetch with the bearer token from the in-memory session,
 * proto3 JSON in and out, one central refresh on 401 and one central "not allowed" on 403.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

import { env } from "@/config/env";
import { RefreshTokenResponseSchema } from "@/gen/energypulse/auth/v1/auth_service_pb";
import { reportForbidden } from "@/lib/forbidden";
import { parseMessage, tsDate } from "@/lib/proto-json";
import { accessToken, getSession, setSignedOut, storedRefreshToken, updateTokens } from "@/lib/session";

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  method?: "GET" | "POST";
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Public calls (login, refresh) send no token and never trigger a refresh. */
  anonymous?: boolean;
}

/** An error answer of the API: HTTP status plus google.rpc.Status code, message and reason. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string = "",
    readonly grpcCode: number = 0,
  ) {
    super(message);
  }
  get isForbidden(): boolean {
    return this.status === 403;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
}

export function apiUrl(path: string, query?: Query): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const qs = search.toString();
  return `${env().apiBaseUrl}${path}${qs ? `?${qs}` : ""}`;
}

interface RpcStatusBody {
  code?: number;
  message?: string;
  details?: { "@type"?: string; reason?: string }[];
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let message = text.trim() || response.statusText || `HTTP ${response.status}`;
  let reason = "";
  let code = 0;
  try {
    const body = JSON.parse(text) as RpcStatusBody;
    if (body && typeof body === "object") {
      message = body.message || message;
      code = body.code ?? 0;
      reason = body.details?.find((d) => d["@type"]?.endsWith("google.rpc.ErrorInfo"))?.reason ?? "";
    }
  } catch {
    // Not JSON (e.g. Envoy's own "Jwt is expired"): keep the text.
  }
  if (response.status === 503 && !text) message = "The service is unavailable right now.";
  return new ApiError(response.status, message, reason, code);
}

let refreshing: Promise<boolean> | null = null;

/**
 * Rotates the refresh token once, however many requests saw a 401 at the same time (the token is
 * single-use: two parallel refreshes would revoke the whole family).
 */
export function refreshAccessToken(): Promise<boolean> {
  refreshing ??= (async () => {
    const token = storedRefreshToken();
    if (!token) return false;
    try {
      const response = await fetch(apiUrl("/api/v1/auth/refresh"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken: token }),
      });
      if (!response.ok) return false;
      const { tokens } = parseMessage(RefreshTokenResponseSchema, await response.json());
      if (!tokens?.accessToken) return false;
      updateTokens(
        tokens.accessToken,
        tsDate(tokens.accessTokenExpireTime)?.getTime() ?? Date.now() + 60_000,
        tokens.refreshToken,
      );
      return true;
    } catch {
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** A fetch with auth handling; returns the Response (for streams) after 401/403 handling. */
export async function authorizedFetch(path: string, options: RequestOptions = {}, accept = "application/json"): Promise<Response> {
  const send = (): Promise<Response> => {
    const headers: Record<string, string> = { accept };
    const token = options.anonymous ? undefined : accessToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    return fetch(apiUrl(path, options.query), {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  };
  let response = await send();
  if (response.status === 401 && !options.anonymous) {
    if (await refreshAccessToken()) {
      response = await send();
    }
    if (response.status === 401) {
      const error = await errorFromResponse(response);
      if (getSession().status === "signed-in") setSignedOut("Your session has expired. Please sign in again.");
      throw error;
    }
  }
  if (!response.ok) {
    const error = await errorFromResponse(response);
    if (error.isForbidden) reportForbidden(error.message, path);
    throw error;
  }
  return response;
}

/** Calls one RPC through Envoy and parses the answer as its generated response message. */
export async function callApi<Desc extends DescMessage>(
  schema: Desc,
  path: string,
  options: RequestOptions = {},
): Promise<MessageShape<Desc>> {
  const response = await authorizedFetch(path, options);
  const text = await response.text();
  return parseMessage(schema, text ? JSON.parse(text) : {});
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
