/**
 * The API client's central behaviour with an injected transport: a scripted fetch that plays the
 * edge (Envoy + auth) and an in-memory session. No globals are patched.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";

import { Role } from "@/gen/energypulse/auth/v1/user_pb";
import { Resolution } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { routes } from "@/gen/routes";

import { ApiError, createApiClient, errorMessage, SESSION_EXPIRED, type SessionPort } from "./api-client";
import { clearForbidden, getForbidden, reportForbidden } from "./forbidden";
import { CATALOGUES } from "@/test/catalogues";

interface Call {
  url: string;
  method: string;
  authorization: string | undefined;
  session: string | undefined;
  credentials: RequestCredentials | undefined;
  body: string | undefined;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function rpcStatus(code: number, message: string, reason?: string) {
  return {
    code,
    message,
    details: reason ? [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "energypulse.dev" }] : [],
  };
}

/** An edge that accepts one access token at a time and rotates single-use refresh tokens, kept
 * (as auth_svc does for a browser) in an HttpOnly cookie: here the fake browser's cookie jar. */
class FakeEdge {
  calls: Call[] = [];
  validAccess = "access-1";
  validRefresh = "refresh-1";
  /** The browser's refresh cookie (script in the page cannot read it; the test can). */
  cookie: string | null = "refresh-1";
  generation = 1;
  refreshFails = false;
  /** When set, refresh answers wait for this promise (to hold several 401s in flight). */
  refreshGate: Promise<void> | null = null;
  /** Requests to these paths wait for the promise before their token is checked. */
  holds = new Map<string, Promise<void>>();
  /** Per-path answers for authorised calls; default: a user. */
  routes = new Map<string, (call: Call) => Response>();

  fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    const call: Call = {
      url,
      method: init.method ?? "GET",
      authorization: headers.authorization,
      session: headers["x-energypulse-session"],
      credentials: init.credentials,
      body: typeof init.body === "string" ? init.body : undefined,
    };
    this.calls.push(call);
    if (url === "/api/v1/auth/refresh") {
      if (this.refreshGate) await this.refreshGate;
      // The cookie is honoured only with the session header (auth_svc/session_cookie.py).
      if (call.session !== "cookie") return json(403, rpcStatus(7, "session header required", "SESSION_HEADER_REQUIRED"));
      const sent = call.credentials === "omit" ? null : this.cookie;
      if (this.refreshFails || sent === null || sent !== this.validRefresh) {
        this.cookie = null; // Set-Cookie: Max-Age=0
        return json(401, rpcStatus(16, "refresh token revoked", "REFRESH_TOKEN_REUSED"));
      }
      this.generation += 1;
      this.validAccess = `access-${this.generation}`;
      this.validRefresh = `refresh-${this.generation}`;
      this.cookie = this.validRefresh; // Set-Cookie: the rotated token; the body's field is empty
      return json(200, {
        tokens: { accessToken: this.validAccess, refreshToken: "", accessTokenExpireTime: "2030-01-01T00:00:00Z" },
      });
    }
    const hold = this.holds.get(url.split("?")[0]!);
    if (hold) {
      this.holds.delete(url.split("?")[0]!);
      await hold;
    }
    const isPublic = url.split("?")[0] === "/api/v1/auth/login";
    if (!isPublic && call.authorization !== `Bearer ${this.validAccess}`) return new Response("Jwt is expired", { status: 401 });
    const route = this.routes.get(url.split("?")[0]!);
    return route ? route(call) : json(200, { user: { userId: "u1", username: "household-0001" } });
  };

  count(path: string): number {
    return this.calls.filter((c) => c.url.split("?")[0] === path).length;
  }
}

class MemorySession implements SessionPort {
  expired: string[] = [];
  constructor(public access: string | undefined) {}
  accessToken() {
    return this.access;
  }
  updateTokens(access: string) {
    this.access = access;
  }
  expire(notice: string) {
    this.expired.push(notice);
    this.access = undefined;
  }
}

function setup({ access = "stale", cookie = "refresh-1" }: { access?: string; cookie?: string | null } = {}) {
  const edge = new FakeEdge();
  edge.cookie = cookie;
  const session = new MemorySession(access);
  const forbidden: { message: string; path: string }[] = [];
  const client = createApiClient({
    fetch: edge.fetch,
    session,
    onForbidden: (message, path) => {
      forbidden.push({ message, path });
      reportForbidden(message, path);
    },
  });
  return { edge, session, client, forbidden };
}

afterEach(() => clearForbidden());

describe("api client: 401", () => {
  it("refreshes once via /api/v1/auth/refresh and retries the request with the new token", async () => {
    const { edge, session, client } = setup();
    const me = await client.call(routes.auth.getCurrentUser());
    expect(me.user?.username).toBe("household-0001");
    expect(edge.count("/api/v1/auth/refresh")).toBe(1);
    const refresh = edge.calls.find((c) => c.url === "/api/v1/auth/refresh")!;
    expect(refresh.method).toBe("POST");
    expect(refresh.authorization).toBeUndefined();
    // No token in the body: the cookie carries it, with the session header and same-origin credentials.
    expect(JSON.parse(refresh.body!)).toEqual({});
    expect(refresh.session).toBe("cookie");
    expect(refresh.credentials).toBe("same-origin");
    const meCalls = edge.calls.filter((c) => c.url === "/api/v1/auth/me").map((c) => c.authorization);
    expect(meCalls).toEqual(["Bearer stale", "Bearer access-2"]);
    expect(session.access).toBe("access-2");
    expect(edge.cookie).toBe("refresh-2"); // rotated by the server, never handed to script
    expect(session.expired).toEqual([]);
  });

  it("shares one refresh between concurrent 401s", async () => {
    const { edge, session, client } = setup();
    let open!: () => void;
    edge.refreshGate = new Promise((resolve) => (open = resolve));
    const pending = Promise.all([
      client.call(routes.auth.getCurrentUser()),
      client.call(routes.auth.getCurrentUser()),
      client.authorizedFetch(routes.telemetry.getHouseholdSummary({ householdId: "sim-h000000" })),
    ]);
    // Let all three see their 401 while the refresh is held open.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(edge.count("/api/v1/auth/refresh")).toBe(1);
    open();
    const [a, b, c] = await pending;
    expect(a.user?.username).toBe("household-0001");
    expect(b.user?.username).toBe("household-0001");
    expect(c.status).toBe(200);
    // A second refresh would have presented the already-used refresh-1 and ended the session.
    expect(edge.count("/api/v1/auth/refresh")).toBe(1);
    expect(session.expired).toEqual([]);
    expect(edge.calls.filter((x) => x.url !== "/api/v1/auth/refresh" && x.authorization === "Bearer access-2")).toHaveLength(3);
  });

  it("retries a late 401 (sent with a token already replaced) without a second refresh", async () => {
    const { edge, session, client } = setup({ access: "access-1" });
    let release!: () => void;
    edge.holds.set("/api/v1/households/sim-h000000/summary", new Promise<void>((resolve) => (release = resolve)));
    const slow = client.authorizedFetch(routes.telemetry.getHouseholdSummary({ householdId: "sim-h000000" })); // carries access-1
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await client.refreshAccessToken()).toBe(true); // another request rotated: access-2
    release(); // now the slow request's access-1 is checked, and refused
    expect((await slow).status).toBe(200);
    expect(edge.count("/api/v1/auth/refresh")).toBe(1);
    expect(edge.calls.filter((c) => c.url.endsWith("/summary")).map((c) => c.authorization)).toEqual(["Bearer access-1", "Bearer access-2"]);
    expect(session.expired).toEqual([]);
  });

  it("signs out when the refresh fails, without retrying the request", async () => {
    const { edge, session, client } = setup();
    edge.refreshFails = true;
    const error = await client.call(routes.auth.getCurrentUser()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).message).toBe("Jwt is expired"); // Envoy's plain-text body is kept
    expect(edge.count("/api/v1/auth/refresh")).toBe(1);
    expect(edge.count("/api/v1/auth/me")).toBe(1);
    expect(session.expired).toEqual([SESSION_EXPIRED]);
    expect(edge.cookie).toBeNull();
  });

  it("signs out after one refresh when the browser has no refresh cookie", async () => {
    const { edge, session, client } = setup({ cookie: null });
    await expect(client.authorizedFetch(routes.auth.getCurrentUser())).rejects.toBeInstanceOf(ApiError);
    expect(edge.count("/api/v1/auth/refresh")).toBe(1);
    expect(session.expired).toEqual([SESSION_EXPIRED]);
  });

  it("never refreshes for anonymous calls (a wrong password is just an error)", async () => {
    const { edge, session, client } = setup();
    edge.routes.set("/api/v1/auth/login", () => json(401, rpcStatus(16, "Wrong username or password.", "BAD_CREDENTIALS")));
    const fetchLogin = client.authorizedFetch(routes.auth.login(), { body: { username: "x", password: "y" }, anonymous: true });
    await expect(fetchLogin).rejects.toMatchObject({ status: 401, message: "Wrong username or password.", reason: "BAD_CREDENTIALS" });
    expect(edge.count("/api/v1/auth/refresh")).toBe(0);
    expect(edge.calls[0]!.authorization).toBeUndefined();
    expect(session.expired).toEqual([]);
  });
});

describe("api client: errors", () => {
  it("turns a 403 into the central not-allowed state with the server's message", async () => {
    const { edge, client, forbidden } = setup({ access: "access-1" });
    edge.routes.set("/api/v1/users", () => json(403, rpcStatus(7, "Only administrators can list users.", "ADMIN_REQUIRED")));
    const error = await client.authorizedFetch(routes.auth.listUsers()).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, message: "Only administrators can list users.", reason: "ADMIN_REQUIRED", grpcCode: 7 });
    expect((error as ApiError).isForbidden).toBe(true);
    expect(forbidden).toEqual([{ message: "Only administrators can list users.", path: "/api/v1/users" }]);
    expect(getForbidden()).toEqual({ message: "Only administrators can list users.", path: "/api/v1/users" });
    expect(edge.count("/api/v1/auth/refresh")).toBe(0);
  });

  it("surfaces a google.rpc.Status body's message and ErrorInfo reason", async () => {
    const { edge, client, forbidden } = setup({ access: "access-1" });
    edge.routes.set("/api/v1/households/sim-h000000/readings", () =>
      json(400, {
        code: 3,
        message: "end_time must be after start_time",
        details: [
          { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [] },
          { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "INVALID_TIME_RANGE", domain: "energypulse.dev" },
        ],
      }),
    );
    const error = await client
      .authorizedFetch(routes.telemetry.listReadings({ householdId: "sim-h000000" }), { query: { startTime: timestampFromMs(2000), endTime: timestampFromMs(1000) } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, message: "end_time must be after start_time", reason: "INVALID_TIME_RANGE", grpcCode: 3 });
    expect(forbidden).toEqual([]);
    expect(getForbidden()).toBeNull();
  });

  it("names an empty 503 as the service being unavailable, in the page's language", async () => {
    const { edge, client } = setup({ access: "access-1" });
    edge.routes.set("/api/v1/grid/stats", () => new Response("", { status: 503 }));
    const error = await client.authorizedFetch(routes.telemetry.getGridStats()).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, reason: "" });
    expect(errorMessage(error, CATALOGUES["en-GB"])).toBe("The service is unavailable right now.");
    expect(errorMessage(error, CATALOGUES["nb-NO"])).toBe("Tjenesten er ikke tilgjengelig akkurat nå.");
  });

  it("shows the catalogue's text for a known reason, the server's message only for an unknown one", async () => {
    const { edge, client, forbidden } = setup({ access: "access-1" });
    edge.routes.set("/api/v1/users", () => json(403, rpcStatus(7, "role user may not call ListUsers", "ROLE_NOT_PERMITTED")));
    edge.routes.set("/api/v1/grid/stats", () => json(400, rpcStatus(3, "something new went wrong", "A_REASON_FROM_A_NEWER_SERVER")));
    const known = await client.authorizedFetch(routes.auth.listUsers()).catch((e: unknown) => e);
    expect(errorMessage(known, CATALOGUES["nb-NO"])).toBe("Kontoen din har ikke lov til å gjøre dette.");
    expect(errorMessage(known, CATALOGUES["en-GB"])).toBe("Your account is not allowed to do this.");
    // The not-allowed panel gets the same words, not the server's English.
    expect(forbidden).toEqual([{ message: "Your account is not allowed to do this.", path: "/api/v1/users" }]);
    const unknown = await client.authorizedFetch(routes.telemetry.getGridStats()).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ reason: "A_REASON_FROM_A_NEWER_SERVER", metadata: {} });
    expect(errorMessage(unknown, CATALOGUES["nb-NO"])).toBe("something new went wrong");
    // A refused alert rule names the field at fault: its finer words, else the reason's own.
    const rule = (field: string) =>
      new ApiError(400, "duration_minutes must be a multiple of 15 from 15 to 720, got 18", "ALERT_INVALID_RULE", 3, { field });
    expect(errorMessage(rule("duration_minutes"), CATALOGUES["nb-NO"])).toBe(
      "Varigheten må være hele kvarter, fra 15 minutter til 12 timer, og få plass innenfor timene regelen ser fram.",
    );
    expect(errorMessage(rule("a_field_from_a_newer_server"), CATALOGUES["nb-NO"])).toBe(CATALOGUES["nb-NO"].reasons.ALERT_INVALID_RULE);
    // Not a key of the catalogue object's prototype either.
    expect(errorMessage(new ApiError(400, "server words", "constructor"), CATALOGUES["nb-NO"])).toBe("server words");
  });

  it("prefixes URLs with the configured base and encodes the path and the typed query", async () => {
    const edge = new FakeEdge();
    const seen: string[] = [];
    const client = createApiClient({
      fetch: (url, init) => (seen.push(url), edge.fetch(url.replace("https://edge.example", ""), init)),
      baseUrl: () => "https://edge.example",
      session: new MemorySession("access-1"),
      onForbidden: () => {},
    });
    const route = routes.telemetry.listReadings({ householdId: "h 1/x" });
    await client.authorizedFetch(route, { query: { startTime: timestampFromMs(0), meterId: "", resolution: Resolution.MINUTE, pageSize: 3 } });
    // Defaults (the empty meterId) are left out; the enum goes by its proto name, the Timestamp as RFC 3339.
    expect(seen).toEqual(["https://edge.example/api/v1/households/h%201%2Fx/readings?startTime=1970-01-01T00%3A00%3A00Z&resolution=RESOLUTION_MINUTE&pageSize=3"]);
  });

  it("sends a typed body as proto3 JSON with the route's method", async () => {
    const { edge, client } = setup({ access: "access-1" });
    edge.routes.set("/api/v1/users/u%2F1:setRole", () => json(200, {}));
    await client.call(routes.auth.setRole({ userId: "u/1" }), { body: { role: Role.ADMIN } });
    const call = edge.calls.find((c) => c.url.endsWith(":setRole"));
    expect(call?.method).toBe("POST");
    expect(call?.body).toBe('{"role":"ROLE_ADMIN"}');
  });
});

describe("routes (generated from the google.api.http rules)", () => {
  it("carry the RPC, method, encoded path and the response schema", () => {
    const block = routes.ledger.getBlock({ height: 12n });
    expect(block).toMatchObject({ rpc: "LedgerService.GetBlock", method: "GET", path: "/api/v1/ledger/blocks/12" });
    expect(block.output.typeName).toBe("energypulse.ledger.v1.GetBlockResponse");
    expect(routes.ledger.getBlock({ height: "7" }).path).toBe("/api/v1/ledger/blocks/7");
    expect(routes.ledger.getInvoice({ householdId: "h/1", month: "2026-01" }).path).toBe("/api/v1/households/h%2F1/invoices/2026-01");
    expect(routes.ledger.verifyChain()).toMatchObject({ method: "POST", path: "/api/v1/ledger:verify" });
  });
});
