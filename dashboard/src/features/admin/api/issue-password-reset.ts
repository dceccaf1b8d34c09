import { useMutation } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";

/** A one-time password-reset token for an account (shown once; the server keeps only its hash). */
export function issuePasswordReset({ userId }: { userId: string }) {
  return callApi(routes.auth.issuePasswordReset({ userId }), { body: {} });
}

export function useIssuePasswordReset() {
  return useMutation({ mutationFn: issuePasswordReset });
}

/**
 * The link handed to the account's owner. The token rides in the fragment, which browsers never
 * send to a server, so it stays out of access logs and Referer headers.
 */
export function resetLink(token: string, origin = window.location.origin): string {
  return `${origin}/reset-password#token=${encodeURIComponent(token)}`;
}
