import { NavLink, useParams } from "react-router";

import { PageHeader } from "@/components/ui/page-header";
import { cn } from "@/lib/cn";

import { AuditPanel } from "./audit-panel";
import { NotFoundTab } from "./not-found-tab";
import { DeadLettersPanel } from "./dead-letters-panel";
import { GridPanel } from "./grid-panel";
import { HealthPanel } from "./health-panel";
import { UsersPanel } from "./users-panel";

const TABS = [
  { key: "", label: "Health", element: <HealthPanel /> },
  { key: "users", label: "Users", element: <UsersPanel /> },
  { key: "audit", label: "Audit log", element: <AuditPanel /> },
  { key: "grid", label: "Grid", element: <GridPanel /> },
  { key: "dead-letters", label: "Dead letters", element: <DeadLettersPanel /> },
];

export function AdminPage() {
  const { tab = "" } = useParams();
  const active = TABS.find((t) => t.key === tab);
  return (
    <>
      <PageHeader title="Administration" description="Services, accounts, the grid and rejected messages" />
      <nav aria-label="Admin sections" className="mb-6 border-b border-slate-200">
        <ul className="-mb-px flex gap-1 overflow-x-auto">
          {TABS.map((t) => (
            <li key={t.key}>
              <NavLink
                to={t.key ? `/admin/${t.key}` : "/admin"}
                end
                className={({ isActive }) =>
                  cn(
                    "inline-block border-b-2 px-4 py-2.5 text-sm font-medium whitespace-nowrap",
                    isActive ? "border-brand-600 text-brand-700" : "border-transparent text-slate-500 hover:border-slate-300 hover:text-slate-700",
                  )
                }
              >
                {t.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      {active ? active.element : <NotFoundTab />}
    </>
  );
}
