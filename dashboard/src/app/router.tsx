import { lazy, Suspense, type ComponentType, type LazyExoticComponent } from "react";
import { createBrowserRouter, Outlet, RouterProvider } from "react-router";

import { LoadingState } from "@/components/ui/states";
import { ResetPasswordPage } from "@/features/auth/components/reset-password-page";
import { SignInPage } from "@/features/auth/components/sign-in-page";
import { useSession } from "@/lib/session";
import { useT } from "@/lib/i18n";

import { AppShell } from "./layout/app-shell";
import { DefaultRedirect, RequireAdmin, RequireHousehold } from "./routes/guards";
import { NotFound } from "./routes/not-found";

// Each page is its own chunk: the first load carries the shell and the sign-in page only.
const HomePage = lazy(() => import("@/features/home/components/home-page").then((m) => ({ default: m.HomePage })));
const HistoryPage = lazy(() => import("@/features/history/components/history-page").then((m) => ({ default: m.HistoryPage })));
const InvoicePage = lazy(() => import("@/features/invoices/components/invoice-page").then((m) => ({ default: m.InvoicePage })));
const SchemesPage = lazy(() => import("@/features/schemes/components/schemes-page").then((m) => ({ default: m.SchemesPage })));
const ExportPage = lazy(() => import("@/features/export/components/export-page").then((m) => ({ default: m.ExportPage })));
const LedgerPage = lazy(() => import("@/features/ledger/components/ledger-page").then((m) => ({ default: m.LedgerPage })));
const BlockPage = lazy(() => import("@/features/ledger/components/block-page").then((m) => ({ default: m.BlockPage })));
const TransactionPage = lazy(() => import("@/features/ledger/components/transaction-page").then((m) => ({ default: m.TransactionPage })));
const AlertsPage = lazy(() => import("@/features/alerts/components/alerts-page").then((m) => ({ default: m.AlertsPage })));
const AdminPage = lazy(() => import("@/features/admin/components/admin-page").then((m) => ({ default: m.AdminPage })));

function page(Component: LazyExoticComponent<ComponentType>) {
  return (
    <Suspense fallback={<LoadingState className="min-h-64" />}>
      <Component />
    </Suspense>
  );
}

/** Signed out: the sign-in page at whatever URL was asked for, so signing in lands there. */
function SessionGate() {
  const session = useSession();
  const t = useT();
  if (session.status === "restoring") return <LoadingState className="min-h-dvh" label={t.shell.resuming} />;
  if (session.status === "signed-out") return <SignInPage notice={session.reason} />;
  return <Outlet />;
}

const router = createBrowserRouter([
  // Public: the one-time link of an operator-issued password reset works without a session.
  { path: "reset-password", element: <ResetPasswordPage /> },
  {
    element: <SessionGate />,
    children: [
      {
        element: <AppShell />,
        children: [
          { index: true, element: <DefaultRedirect /> },
          { path: "sign-in", element: <DefaultRedirect /> },
          {
            path: "households/:householdId",
            element: <RequireHousehold />,
            children: [
              { index: true, element: page(HomePage) },
              { path: "history", element: page(HistoryPage) },
              { path: "invoices", element: page(InvoicePage) },
              { path: "export", element: page(ExportPage) },
              { path: "schemes", element: page(SchemesPage) },
              { path: "alerts", element: page(AlertsPage) },
            ],
          },
          { path: "ledger", element: page(LedgerPage) },
          { path: "ledger/blocks/:height", element: page(BlockPage) },
          { path: "ledger/transactions/:txHash", element: page(TransactionPage) },
          { path: "admin", element: <RequireAdmin />, children: [{ path: ":tab?", element: page(AdminPage) }] },
          { path: "*", element: <NotFound /> },
        ],
      },
    ],
  },
]);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
