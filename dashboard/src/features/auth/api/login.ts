import { useMutation } from "@tanstack/react-query";

import { authRoutes } from "@/gen/routes/auth";
import { callApi } from "@/lib/api-client";
import { tsDate } from "@/lib/proto-json";
import { SESSION_HEADERS, setSignedIn } from "@/lib/session";

import { withPageTexts } from "./page-texts";

export interface LoginInput {
  username: string;
  password: string;
}

export async function login({ username, password }: LoginInput) {
  const response = await callApi(authRoutes.login(), { body: { username, password }, anonymous: true, headers: SESSION_HEADERS });
  if (!response.tokens || !response.user) throw new Error("The sign-in answer had no tokens.");
  // The refresh token came as an HttpOnly cookie; the body's field is empty in cookie mode.
  setSignedIn({
    accessToken: response.tokens.accessToken,
    accessExpiresAt: tsDate(response.tokens.accessTokenExpireTime)?.getTime() ?? Date.now() + 60_000,
    user: response.user,
  });
  return response;
}

export function useLogin() {
  return useMutation({ mutationFn: withPageTexts(login) });
}
