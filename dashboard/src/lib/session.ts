/**
 * The signed-in session. The access token lives in memory only (gone on reload, never readable
 * from storage by injected scripts that run later). The single-use refresh token is never seen by
 * script at all: auth_svc sets it as an HttpOnly, SameSite=Strict cookie scoped to /api/v1/auth/
 * when a call carries SESSION_HEADERS (auth_svc/session_cookie.py), and the browser sends it back
 * on refresh and sign-out; a reload resumes the session with one refresh call.
 */
import { useSyncExternalStore } from "react";

import { Role, type User } from "@/gen/energypulse/auth/v1/user_pb";

/** Sent on sign-in, refresh and sign-out: cookie mode, and the CSRF proof a cross-site page cannot send. */
export const SESSION_HEADERS: Readonly<Record<string, string>> = { "x-energypulse-session": "cookie" };

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

export function setSignedIn(session: Session): void {
  currentAccessToken = session.accessToken;
  emit({ status: "signed-in", ...session });
}

/** A new access token for the same user (after a refresh; the rotated refresh cookie is the browser's). */
export function updateTokens(accessTokenValue: string, accessExpiresAt: number): void {
  currentAccessToken = accessTokenValue;
  if (state.status === "signed-in") emit({ ...state, accessToken: accessTokenValue, accessExpiresAt });
}

export function setSignedOut(reason?: string): void {
  currentAccessToken = undefined;
  emit({ status: "signed-out", reason });
}

export function isAdmin(session: SessionState): boolean {
  return session.status === "signed-in" && session.user.role === Role.ADMIN;
}
