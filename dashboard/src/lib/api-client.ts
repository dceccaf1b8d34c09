/**
 * The one API client: same-origin fetch with the bearer token from the in-memory session,
 * proto3 JSON in and out, one central refresh on 401 and one central "not allowed" on 403.
 * `createApiClient` takes its transport (fetch), session and 403 sink as parameters; the app's
 * instance below wires the browser's fetch, lib/session.ts and lib/forbidden.ts.
 */
import type { DescMessage, JsonValue, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

import { env } from "@/config/env";
// The auth service's routes alone: the sign-in page loads no other service's schemas (#21).
import { authRoutes } from "@/gen/routes/auth";
import type { Route } from "@/gen/routes/route";
import { reportForbidden } from "@/lib/forbidden";
import { currentLocale, hasCatalogue, messages, type Messages } from "@/lib/i18n";
import { parseMessage, requestJson, tsDate } from "@/lib/proto-json";
import { accessToken, getSession, SESSION_HEADERS, setSignedOut, updateTokens } from "@/lib/session";

/**
 * What a call adds to its route (gen/routes.ts: method, path, request and response schemas): the
 * request message's other fields, typed, as query parameters (GET) or as the JSON body (POST).
 */
export interface RequestOptions<Input extends DescMessage = DescMessage> {
  query?: MessageInitShape<Input>;
  body?: MessageInitShape<Input>;
  signal?: AbortSignal;
  /** Public calls (login, refresh) send no token and never trigger a refresh. */
  anonymous?: boolean;
  /** Extra request headers (the session calls' SESSION_HEADERS). */
  headers?: Readonly<Record<string, string>>;
}

/** An error answer of the API: HTTP status plus google.rpc.Status code, message and reason. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly reason = "",
    readonly grpcCode = 0,
    /** The ErrorInfo's metadata (e.g. "field": the request field at fault). */
    readonly metadata: Readonly<Record<string, string>> = {},
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

/**
 * Query parameters as the transcoder reads them: the request's proto3 JSON (fields at their
 * default left out, enums by name), repeated fields repeated, nested messages as dotted names.
 */
export function queryString<Input extends DescMessage>(schema: Input, query: MessageInitShape<Input> | undefined): string {
  if (query === undefined) return "";
  const search = new URLSearchParams();
  const add = (key: string, value: JsonValue): void => {
    if (Array.isArray(value)) for (const item of value) add(key, item);
    else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) add(`${key}.${k}`, v);
    else if (value !== null) search.append(key, String(value));
  };
  const json = requestJson(schema, query);
  if (json !== null && typeof json === "object" && !Array.isArray(json)) for (const [k, v] of Object.entries(json)) add(k, v);
  return search.toString();
}

interface RpcStatusBody {
  code?: number;
  message?: string;
  details?: { "@type"?: string; reason?: string; metadata?: Record<string, string> }[];
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let message = text.trim() || response.statusText || `HTTP ${response.status}`;
  let reason = "";
  let code = 0;
  let metadata: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") {
      const body = parsed as RpcStatusBody;
      message = body.message || message;
      code = body.code ?? 0;
      const info = body.details?.find((d) => d["@type"]?.endsWith("google.rpc.ErrorInfo"));
      reason = info?.reason ?? "";
      metadata = info?.metadata ?? {};
    }
  } catch {
    // Not JSON (the edge answers a google.rpc.Status; a proxy in front of it may not): keep the text.
  }
  return new ApiError(response.status, message, reason, code, metadata);
}

/** What the client needs from the signed-in session (the app passes lib/session.ts). */
export interface SessionPort {
  accessToken(): string | undefined;
  updateTokens(accessToken: string, accessExpiresAt: number): void;
  /** The session cannot be renewed: sign out with a notice for the sign-in page. */
  expire(notice: string): void;
}

/** Everything the client talks to, injected (tests pass a scripted fetch and an in-memory session). */
export interface ApiClientDeps {
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  baseUrl?: () => string;
  session: SessionPort;
  /** Called once per 403 with the server's message: the app's central "not allowed" state. */
  onForbidden: (message: string, path: string) => void;
}

export interface ApiClient {
  /** A fetch with auth handling; returns the Response (for streams) after 401/403 handling. */
  authorizedFetch<Input extends DescMessage>(route: Route<Input>, options?: RequestOptions<Input>, accept?: string): Promise<Response>;
  /** Calls one RPC through Envoy and parses the answer as the route's generated response message. */
  call<Input extends DescMessage, Output extends DescMessage>(route: Route<Input, Output>, options?: RequestOptions<Input>): Promise<MessageShape<Output>>;
  /** Rotates the refresh token once, however many requests saw a 401 at the same time. */
  refreshAccessToken(): Promise<boolean>;
}

/** The sign-in page's notice after a session could not be renewed: a key, worded there in the
 *  page's language (t.auth.sessionExpired). */
export const SESSION_EXPIRED = "SESSION_EXPIRED";

export function createApiClient(deps: ApiClientDeps): ApiClient {
  const { session } = deps;
  const url = (path: string, search = "") => `${deps.baseUrl?.() ?? ""}${path}${search ? `?${search}` : ""}`;
  // The refresh token (an HttpOnly cookie the browser sends; script never sees it) is single-use:
  // two parallel refreshes would revoke the whole family, so every 401 that arrives while one is
  // running waits for that one.
  let refreshing: Promise<boolean> | null = null;

  const refreshAccessToken = (): Promise<boolean> => {
    refreshing ??= (async () => {
      try {
        const refresh = authRoutes.refreshToken();
        const response = await deps.fetch(url(refresh.path), {
          method: refresh.method,
          headers: { accept: "application/json", "content-type": "application/json", ...SESSION_HEADERS },
          body: "{}",
          credentials: "same-origin",
        });
        if (!response.ok) return false;
        const { tokens } = parseMessage(refresh.output, await response.json());
        if (!tokens?.accessToken) return false;
        session.updateTokens(tokens.accessToken, tsDate(tokens.accessTokenExpireTime)?.getTime() ?? Date.now() + 60_000);
        return true;
      } catch {
        return false;
      }
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  const authorizedFetch = async <Input extends DescMessage>(route: Route<Input>, options: RequestOptions<Input> = {}, accept = "application/json"): Promise<Response> => {
    const search = queryString(route.input, options.query);
    const body = options.body === undefined ? undefined : JSON.stringify(requestJson(route.input, options.body));
    const send = (token: string | undefined): Promise<Response> => {
      const headers: Record<string, string> = { accept, ...options.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      return deps.fetch(url(route.path, search), {
        method: route.method,
        headers,
        body,
        signal: options.signal,
      });
    };
    const sent = options.anonymous ? undefined : session.accessToken();
    let response = await send(sent);
    if (response.status === 401 && !options.anonymous) {
      // A 401 for a token that another request has already replaced needs no refresh of its own.
      const current = session.accessToken();
      const renewed = current !== undefined && current !== sent ? true : await refreshAccessToken();
      if (renewed) response = await send(session.accessToken());
      if (response.status === 401) {
        const error = await errorFromResponse(response);
        session.expire(SESSION_EXPIRED);
        throw error;
      }
    }
    if (!response.ok) {
      const error = await errorFromResponse(response);
      if (error.isForbidden) deps.onForbidden(errorMessage(error), route.path);
      throw error;
    }
    return response;
  };

  const call = async <Input extends DescMessage, Output extends DescMessage>(
    route: Route<Input, Output>,
    options: RequestOptions<Input> = {},
  ): Promise<MessageShape<Output>> => {
    const response = await authorizedFetch(route, options);
    const text = await response.text();
    return parseMessage(route.output, text ? JSON.parse(text) : {});
  };

  return { authorizedFetch, call, refreshAccessToken };
}

/** lib/session.ts as the client's session: the one the app runs with. */
const browserSession: SessionPort = {
  accessToken,
  updateTokens,
  expire(notice) {
    // While restoring, restore-session.ts decides; only a live session is ended here.
    if (getSession().status === "signed-in") setSignedOut(notice);
  },
};

/** The app's one client: the browser's fetch (looked up per call), the in-memory session. */
const appClient = createApiClient({
  fetch: (input, init) => globalThis.fetch(input, init),
  baseUrl: () => env().apiBaseUrl,
  session: browserSession,
  onForbidden: reportForbidden,
});

export const refreshAccessToken = (): Promise<boolean> => appClient.refreshAccessToken();
export const authorizedFetch = <Input extends DescMessage>(route: Route<Input>, options?: RequestOptions<Input>, accept?: string): Promise<Response> =>
  appClient.authorizedFetch(route, options, accept);
export const callApi = <Input extends DescMessage, Output extends DescMessage>(
  route: Route<Input, Output>,
  options?: RequestOptions<Input>,
): Promise<MessageShape<Output>> => appClient.call(route, options);

/** The catalogue's text for an API error reason (its finer one for the field at fault, when the
 *  error names one the catalogue words), or undefined for a reason it does not know. */
export function reasonText(reason: string, t: Messages = messages(), field = ""): string | undefined {
  // Own keys only: a reason string is server data, not a way into the object's prototype.
  const own = (table: Readonly<Record<string, string>>, key: string): string | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);
  const tables: Readonly<Record<string, Readonly<Record<string, string>>>> = t.reasonFields;
  const fields = field && Object.hasOwn(tables, reason) ? tables[reason] : undefined;
  return (fields && own(fields, field)) ?? own(t.reasons, reason);
}

/**
 * What to tell the user about an error, in the page's language: for an API error the catalogue's
 * text for its reason; the server's (English) message only for a reason the catalogue does not
 * know yet (a newer server), or an answer without one that is not a bare 503.
 */
export function errorMessage(error: unknown, given?: Messages): string {
  const t = given ?? messages();
  if (error instanceof ApiError) {
    // The reasons are in the catalogue's pages part: before it is loaded (a first sign-in that
    // failed faster than its fetch, features/auth/api/page-texts.ts) the server's message is
    // what there is.
    const worded = given !== undefined || hasCatalogue(currentLocale(), "all");
    const text = error.reason && worded ? reasonText(error.reason, t, error.metadata.field) : undefined;
    if (text !== undefined) return text;
    // A proxy in front of the edge answers 502/503/504 with its own page, not a google.rpc.Status.
    if (!error.reason && error.status >= 502 && error.status <= 504) return t.common.serviceUnavailable;
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
