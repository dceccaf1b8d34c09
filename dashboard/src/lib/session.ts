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

/**
 * "This browser signed in and has not signed out": no secret (the refresh cookie is HttpOnly, the
 * access token in memory), only whether a reload should try the refresh call at all. Without it a
 * first visit would wait for a refresh round trip that cannot succeed before showing the sign-in
 * page (issue #21: one 150 ms round trip on slow 4G). Stale (the cookie expired): that one call
 * fails and the page signs in as before.
 */
export const SESSION_HINT_KEY = "energypulse.signed-in";

function setHint(on: boolean): void {
  try {
    if (on) localStorage.setItem(SESSION_HINT_KEY, "1");
    else localStorage.removeItem(SESSION_HINT_KEY);
  } catch {
    // storage refused (private mode, policy): every reload then tries the refresh call
  }
}

/** Whether a reload should try to resume a session (see SESSION_HINT_KEY); true if storage is unreadable. */
export function maySessionExist(): boolean {
  try {
    return localStorage.getItem(SESSION_HINT_KEY) !== null;
  } catch {
    return true;
  }
}

export function setSignedIn(session: Session): void {
  currentAccessToken = session.accessToken;
  setHint(true);
  emit({ status: "signed-in", ...session });
}

/** A new access token for the same user (after a refresh; the rotated refresh cookie is the browser's). */
export function updateTokens(accessTokenValue: string, accessExpiresAt: number): void {
  currentAccessToken = accessTokenValue;
  if (state.status === "signed-in") emit({ ...state, accessToken: accessTokenValue, accessExpiresAt });
}

export function setSignedOut(reason?: string): void {
  currentAccessToken = undefined;
  setHint(false);
  emit({ status: "signed-out", reason });
}

export function isAdmin(session: SessionState): boolean {
  return session.status === "signed-in" && session.user.role === Role.ADMIN;
}
