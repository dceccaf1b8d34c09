import { useMutation } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";

import { withPageTexts } from "./page-texts";

export function completePasswordReset({ resetToken, newPassword }: { resetToken: string; newPassword: string }) {
  return callApi(routes.auth.completePasswordReset(), { body: { resetToken, newPassword }, anonymous: true });
}

export function useCompletePasswordReset() {
  return useMutation({ mutationFn: withPageTexts(completePasswordReset) });
}
