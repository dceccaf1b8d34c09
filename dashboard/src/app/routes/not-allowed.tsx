import { Link } from "react-router";

import { ShieldIcon } from "@/components/ui/icons";
import { useT } from "@/lib/i18n";

/** The one "not allowed" state: any 403, and the admin pages for non-admins. */
export function NotAllowed({ message }: { message?: string }) {
  const t = useT();
  return (
    <div role="alert" data-testid="not-allowed" className="mx-auto mt-12 max-w-md rounded-xl bg-white p-8 text-center shadow-sm ring-1 ring-slate-200">
      <div className="mx-auto flex size-12 items-center justify-center rounded-full bg-amber-50 text-amber-600">
        <ShieldIcon className="size-6" />
      </div>
      <h1 className="mt-4 text-lg font-semibold text-slate-900">{t.routes.notAllowed}</h1>
      <p className="mt-2 text-sm text-slate-600">{message || t.routes.noAccess}</p>
      <Link to="/" className="mt-6 inline-flex text-sm font-medium text-brand-700 hover:underline">
        {t.routes.goToOverview}
      </Link>
    </div>
  );
}
