import { useMutation, useQueryClient } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { SESSION_HEADERS, setSignedOut } from "@/lib/session";

/** Revokes the session (the refresh cookie's family) on the server and clears the cookie, then
 * forgets everything locally. */
export async function logout(): Promise<void> {
  try {
    await callApi(routes.auth.logout(), { body: {}, anonymous: true, headers: SESSION_HEADERS });
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
