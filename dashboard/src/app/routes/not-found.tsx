import { Link } from "react-router";
import { useT } from "@/lib/i18n";

export function NotFound() {
  const t = useT();
  return (
    <div className="mx-auto mt-12 max-w-md text-center">
      <p className="text-sm font-semibold text-brand-700">404</p>
      <h1 className="mt-2 text-xl font-semibold text-slate-900">{t.routes.notFound}</h1>
      <Link to="/" className="mt-6 inline-flex text-sm font-medium text-brand-700 hover:underline">
        {t.routes.backToOverview}
      </Link>
    </div>
  );
}
