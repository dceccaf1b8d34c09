// @energypulse/client: typed gRPC clients for the four EnergyPulse services, through the edge (Envoy).
//
// The messages and service descriptors in ./gen are generated from protos/ by scripts/gen_protos.py
// (protoc-gen-es); this file adds what every integrator needs around them: a gRPC transport over
// HTTP/2, signing in, refreshing the 5-minute access token before it runs out, and reading the
// google.rpc.ErrorInfo every error carries (docs/CLIENTS.md).
import { createClient, type Client, type Interceptor, ConnectError, Code } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { timestampDate } from "@bufbuild/protobuf/wkt";

import { AuthService, type TokenPair } from "./gen/energypulse/auth/v1/auth_service_pb.js";
import { LedgerService } from "./gen/energypulse/ledger/v1/ledger_service_pb.js";
import { PredictionService } from "./gen/energypulse/prediction/v1/prediction_service_pb.js";
import { TelemetryService } from "./gen/energypulse/telemetry/v1/telemetry_service_pb.js";
import { ErrorInfoSchema, type ErrorInfo } from "./gen/google/rpc/error_details_pb.js";

export { AuthService, LedgerService, PredictionService, TelemetryService, ConnectError, Code };
export type { ErrorInfo };

/** Refresh this long before the access token expires (tokens live 5 minutes). */
const REFRESH_MARGIN_MS = 30_000;

export interface EnergyPulseOptions {
  /** The edge, e.g. "http://127.0.0.1:8080" (gRPC over HTTP/2 without TLS) or an https:// URL. */
  readonly baseUrl: string;
}

/** Clients of the four services sharing one HTTP/2 connection and one signed-in session. */
export class EnergyPulse {
  readonly auth: Client<typeof AuthService>;
  readonly ledger: Client<typeof LedgerService>;
  readonly prediction: Client<typeof PredictionService>;
  readonly telemetry: Client<typeof TelemetryService>;
  private tokens: TokenPair | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly session: Http2SessionManager;

  constructor(options: EnergyPulseOptions) {
    const authorize: Interceptor = (next) => async (request) => {
      const token = await this.accessToken(request.method.name);
      if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    };
    // One HTTP/2 connection for every call; close() ends it (an open one keeps Node running).
    this.session = new Http2SessionManager(options.baseUrl);
    const transport = createGrpcTransport({
      baseUrl: options.baseUrl,
      sessionManager: this.session,
      interceptors: [authorize],
    });
    this.auth = createClient(AuthService, transport);
    this.ledger = createClient(LedgerService, transport);
    this.prediction = createClient(PredictionService, transport);
    this.telemetry = createClient(TelemetryService, transport);
  }

  /** Signs in (AuthService.Login); later calls carry the access token and refresh it when due. */
  async login(username: string, password: string): Promise<void> {
    const response = await this.auth.login({ username, password });
    this.tokens = response.tokens;
  }

  /** Ends the session server-side (revokes the refresh token family). */
  async logout(): Promise<void> {
    const tokens = this.tokens;
    this.tokens = undefined;
    if (tokens !== undefined) await this.auth.logout({ refreshToken: tokens.refreshToken });
  }

  /** Closes the HTTP/2 connection (calls still running fail). */
  close(): void {
    this.session.abort();
  }

  /** The current access token (refreshed first when it expires within 30 s); undefined before login. */
  async accessToken(method = ""): Promise<string | undefined> {
    if (this.tokens === undefined || PUBLIC_METHODS.has(method)) return undefined;
    const expires = this.tokens.accessTokenExpireTime;
    if (expires !== undefined && timestampDate(expires).getTime() - Date.now() < REFRESH_MARGIN_MS) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    return this.tokens?.accessToken;
  }

  private async refresh(): Promise<void> {
    if (this.tokens === undefined) return;
    const response = await this.auth.refreshToken({ refreshToken: this.tokens.refreshToken });
    this.tokens = response.tokens;
  }
}

/** Methods that take no access token (their access rule is PUBLIC). */
const PUBLIC_METHODS = new Set(["Login", "RefreshToken", "Logout", "GetJwks", "GetRevocations"]);

/** The ErrorInfo of a failed call (reason, domain "energypulse.io", metadata), if it has one. */
export function errorInfo(error: unknown): ErrorInfo | undefined {
  const connect = ConnectError.from(error);
  return connect.findDetails(ErrorInfoSchema)[0];
}
