import { NavLink, useParams } from "react-router";

import { PageHeader } from "@/components/ui/page-header";
import { cn } from "@/lib/cn";
import { useT } from "@/lib/i18n";

import { AuditPanel } from "./audit-panel";
import { NotFoundTab } from "./not-found-tab";
import { DeadLettersPanel } from "./dead-letters-panel";
import { GridPanel } from "./grid-panel";
import { HealthPanel } from "./health-panel";
import { UsersPanel } from "./users-panel";

const TABS = [
  { key: "", label: "health", element: <HealthPanel /> },
  { key: "users", label: "users", element: <UsersPanel /> },
  { key: "audit", label: "audit", element: <AuditPanel /> },
  { key: "grid", label: "grid", element: <GridPanel /> },
  { key: "dead-letters", label: "deadLetters", element: <DeadLettersPanel /> },
] as const;

export function AdminPage() {
  const { tab = "" } = useParams();
  const t = useT().admin;
  const active = TABS.find((x) => x.key === tab);
  return (
    <>
      <PageHeader title={t.title} description={t.description} />
      <nav aria-label={t.sections} className="mb-6 border-b border-slate-200">
        <ul className="-mb-px flex gap-1 overflow-x-auto">
          {TABS.map((x) => (
            <li key={x.key}>
              <NavLink
                to={x.key ? `/admin/${x.key}` : "/admin"}
                end
                className={({ isActive }) =>
                  cn(
                    "inline-block border-b-2 px-4 py-2.5 text-sm font-medium whitespace-nowrap",
                    isActive ? "border-brand-600 text-brand-700" : "border-transparent text-slate-500 hover:border-slate-300 hover:text-slate-700",
                  )
                }
              >
                {t.tabs[x.label]}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      {active ? active.element : <NotFoundTab />}
    </>
  );
}
