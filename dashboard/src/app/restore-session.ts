/** On start-up, resumes a session from the refresh cookie, if this browser signed in and has not
 *  signed out since (script cannot see the cookie: lib/session.ts SESSION_HINT_KEY). */
import { authRoutes } from "@/gen/routes/auth";
import { callApi, refreshAccessToken } from "@/lib/api-client";
import { accessToken, maySessionExist, setSignedIn, setSignedOut } from "@/lib/session";

export async function restoreSession(): Promise<void> {
  if (!maySessionExist() || !(await refreshAccessToken())) {
    setSignedOut();
    return;
  }
  try {
    const me = await callApi(authRoutes.getCurrentUser());
    const token = accessToken();
    if (!me.user || !token) throw new Error("no user");
    // The access token's expiry is not needed client-side: a 401 triggers the refresh.
    setSignedIn({ accessToken: token, accessExpiresAt: 0, user: me.user });
  } catch {
    setSignedOut();
  }
}
