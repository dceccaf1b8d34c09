/**
 * The signed-in session. The access token lives in memory only (gone on reload, never readable
 * from storage by injected scripts that run later); the single-use refresh token is kept in
 * sessionStorage so a reload of the same tab can resume without a new sign-in. See README.md
 * ("Tokens") for the trade-off.
 */
import { useSyncExternalStore } from "react";

import { Role, type User } from "@/gen/energypulse/auth/v1/user_pb";

const REFRESH_KEY = "energypulse.refresh";

export interface Session {
  accessToken: string;
  accessExpiresAt: number;
  user: User;
}

export type SessionState =
  | { status: "restoring" }
  | { status: "signed-out"; reason?: string }
  | ({ status: "signed-in" } & Session);

let state: SessionState = { status: "restoring" };
// Kept apart from `state` so a token refreshed while restoring (before the user is known) is usable.
let currentAccessToken: string | undefined;
const listeners = new Set<() => void>();

function emit(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function getSession(): SessionState {
  return state;
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSession(): SessionState {
  return useSyncExternalStore(subscribeSession, getSession, getSession);
}

export function accessToken(): string | undefined {
  return currentAccessToken;
}

export function storedRefreshToken(): string | null {
  try {
    return sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeRefreshToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(REFRESH_KEY, token);
    else sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    // Storage disabled: the session simply does not survive a reload.
  }
}

export function setSignedIn(session: Session, refreshToken: string): void {
  storeRefreshToken(refreshToken);
  currentAccessToken = session.accessToken;
  emit({ status: "signed-in", ...session });
}

/** New tokens for the same user (after a refresh). */
export function updateTokens(accessTokenValue: string, accessExpiresAt: number, refreshToken: string): void {
  storeRefreshToken(refreshToken);
  currentAccessToken = accessTokenValue;
  if (state.status === "signed-in") emit({ ...state, accessToken: accessTokenValue, accessExpiresAt });
}

export function setSignedOut(reason?: string): void {
  storeRefreshToken(null);
  currentAccessToken = undefined;
  emit({ status: "signed-out", reason });
}

export function isAdmin(session: SessionState): boolean {
  return session.status === "signed-in" && session.user.role === Role.ADMIN;
}
