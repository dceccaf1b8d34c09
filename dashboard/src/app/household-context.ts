/** Which household the household pages show: the URL's, else the last one shown, else the user's first. */
import { useParams } from "react-router";

import { useHouseholds } from "@/lib/api/list-households";
import { isAdmin, useSession } from "@/lib/session";

let lastHousehold: string | undefined;

export function useCurrentHousehold(): { householdId: string | undefined; options: string[]; loading: boolean } {
  const session = useSession();
  const params = useParams();
  const admin = isAdmin(session);
  const households = useHouseholds(admin);
  const own = session.status === "signed-in" ? session.user.householdIds : [];
  const options = admin ? (households.data?.households.map((h) => h.householdId) ?? []) : own;
  // A household user's navigation never points into a household that is not theirs (the URL's
  // page shows "Not allowed"; the sidebar and switcher stay on the user's own household).
  const allowed = (id: string | undefined): id is string => Boolean(id) && (admin || own.includes(id!));
  if (allowed(params.householdId)) lastHousehold = params.householdId;
  const householdId = allowed(params.householdId) ? params.householdId : allowed(lastHousehold) ? lastHousehold : options[0];
  return { householdId, options, loading: admin && households.isPending };
}
