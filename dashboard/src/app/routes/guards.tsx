import { Navigate, Outlet, useParams } from "react-router";

import { LoadingState } from "@/components/ui/states";
import { isAdmin, useSession } from "@/lib/session";
import { useT } from "@/lib/i18n";

import { useCurrentHousehold } from "../household-context";
import { NotAllowed } from "./not-allowed";

export function RequireAdmin() {
  const session = useSession();
  const t = useT();
  return isAdmin(session) ? <Outlet /> : <NotAllowed message={t.routes.adminOnly} />;
}

/** "/" goes to the admin pages for admins, else to the first household's overview. */
export function DefaultRedirect() {
  const session = useSession();
  const { householdId, loading } = useCurrentHousehold();
  const t = useT();
  if (isAdmin(session)) return <Navigate to="/admin" replace />;
  if (loading) return <LoadingState />;
  if (householdId) return <Navigate to={`/households/${encodeURIComponent(householdId)}`} replace />;
  return <NotAllowed message={t.routes.noHousehold} />;
}

/**
 * Household pages: a household user sees only households linked to the account. The API refuses
 * the others anyway (403 → the same panel); checking here first avoids a page of failing widgets.
 */
export function RequireHousehold() {
  const session = useSession();
  const { householdId = "" } = useParams();
  const t = useT();
  if (session.status !== "signed-in") return null;
  if (!isAdmin(session) && !session.user.householdIds.includes(householdId)) {
    return <NotAllowed message={t.routes.householdNotLinked} />;
  }
  return <Outlet />;
}
