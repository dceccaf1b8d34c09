import { useMutation, useQueryClient } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { setSignedOut, storedRefreshToken } from "@/lib/session";

/** Revokes the refresh token's family on the server, then forgets everything locally. */
export async function logout(): Promise<void> {
  const refreshToken = storedRefreshToken();
  try {
    if (refreshToken) await callApi(routes.auth.logout(), { body: { refreshToken }, anonymous: true });
  } finally {
    setSignedOut();
  }
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: logout,
    onSettled: () => queryClient.clear(),
  });
}
