/** Which household the household pages show: the URL's, else the last one shown, else the user's first. */
import { useEffect } from "react";
import { useParams } from "react-router";

import { useHouseholds } from "@/lib/api/list-households";
import { isAdmin, useSession } from "@/lib/session";

// Shared by every caller of the hook (the shell and the pages), remembered across navigations.
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
  const allowed = (id: string | undefined): id is string => id !== undefined && id !== "" && (admin || own.includes(id));
  const fromUrl = allowed(params.householdId) ? params.householdId : undefined;
  useEffect(() => {
    if (fromUrl !== undefined) lastHousehold = fromUrl;
  }, [fromUrl]);
  const householdId = fromUrl ?? (allowed(lastHousehold) ? lastHousehold : options[0]);
  return { householdId, options, loading: admin && households.isPending };
}
