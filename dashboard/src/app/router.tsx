import { lazy, Suspense, use, useEffect, type ComponentType, type LazyExoticComponent } from "react";
import { createBrowserRouter, Outlet, RouterProvider } from "react-router";

import { LoadingState } from "@/components/ui/states";
import { SignInPage } from "@/features/auth/components/sign-in-page";
import { useSession } from "@/lib/session";
import { currentLocale, hasCatalogue, loadCatalogue, useLocale, useT, wholeCatalogue } from "@/lib/i18n";

import type * as SignedIn from "./signed-in";

// Each page is its own chunk, and so is the signed-in shell (nav, notifications, alert stream,
// route guards): the first load carries the sign-in page only (issue #21).
let shellModule: typeof SignedIn | undefined;
let shellPromise: Promise<typeof SignedIn> | undefined;
function loadShell(): Promise<typeof SignedIn> {
  shellPromise ??= import("./signed-in").then(
    (m) => (shellModule = m),
    (error: unknown) => {
      shellPromise = undefined; // fetched again on the next try
      throw error;
    },
  );
  return shellPromise;
}
const loadHome = () => import("@/features/home/components/home-page");

/** The shell's chunk and the signed-in pages' words (the catalogue's pages part) in the page's
 *  locale, suspending (page()'s loading state) until both are here. */
function SignedInShell() {
  const locale = useLocale();
  if (!hasCatalogue(locale, "all")) use(wholeCatalogue(locale));
  const { AppShell } = shellModule ?? use(loadShell());
  return <AppShell />;
}

/** A route element from the shell's chunk: it renders inside AppShell, so the chunk is already
 *  here and it never suspends (a lazy() of its own would flash the page's loading state). */
function shellPart(name: "DefaultRedirect" | "RequireAdmin" | "RequireHousehold" | "NotFound"): ComponentType {
  function ShellPart() {
    const Part = (shellModule ?? use(loadShell()))[name];
    return <Part />;
  }
  ShellPart.displayName = name;
  return ShellPart;
}
const DefaultRedirect = shellPart("DefaultRedirect");
const RequireAdmin = shellPart("RequireAdmin");
const RequireHousehold = shellPart("RequireHousehold");
const NotFound = shellPart("NotFound");
const ResetPasswordPage = lazy(() => import("@/features/auth/components/reset-password-page").then((m) => ({ default: m.ResetPasswordPage })));
const HomePage = lazy(() => loadHome().then((m) => ({ default: m.HomePage })));
const HistoryPage = lazy(() => import("@/features/history/components/history-page").then((m) => ({ default: m.HistoryPage })));
const InvoicePage = lazy(() => import("@/features/invoices/components/invoice-page").then((m) => ({ default: m.InvoicePage })));
const SchemesPage = lazy(() => import("@/features/schemes/components/schemes-page").then((m) => ({ default: m.SchemesPage })));
const ExportPage = lazy(() => import("@/features/export/components/export-page").then((m) => ({ default: m.ExportPage })));
const LedgerPage = lazy(() => import("@/features/ledger/components/ledger-page").then((m) => ({ default: m.LedgerPage })));
const BlockPage = lazy(() => import("@/features/ledger/components/block-page").then((m) => ({ default: m.BlockPage })));
const TransactionPage = lazy(() => import("@/features/ledger/components/transaction-page").then((m) => ({ default: m.TransactionPage })));
const AlertsPage = lazy(() => import("@/features/alerts/components/alerts-page").then((m) => ({ default: m.AlertsPage })));
const AdminPage = lazy(() => import("@/features/admin/components/admin-page").then((m) => ({ default: m.AdminPage })));

function page(Component: LazyExoticComponent<ComponentType> | ComponentType, className = "min-h-64") {
  return (
    <Suspense fallback={<LoadingState className={className} />}>
      <Component />
    </Suspense>
  );
}

/**
 * What signing in shows first (the shell, its words and the home page), fetched together rather
 * than one after the other: at once when a session is resumed, and once the sign-in page is idle
 * when signed out, so sign-in-to-data does not wait for them while the first visit's own
 * download stays the sign-in page.
 */
function usePrefetchSignedIn(status: ReturnType<typeof useSession>["status"]): void {
  useEffect(() => {
    if (status === "restoring") return;
    const prefetch = () => {
      void loadShell().catch(() => undefined); // a failed prefetch is fetched again when needed
      void loadCatalogue(currentLocale()).catch(() => undefined);
      void loadHome().catch(() => undefined);
    };
    if (status === "signed-in") {
      prefetch();
      return;
    }
    if (typeof requestIdleCallback === "function") {
      const id = requestIdleCallback(prefetch, { timeout: 3000 });
      return () => cancelIdleCallback(id);
    }
    const id = setTimeout(prefetch, 1000);
    return () => clearTimeout(id);
  }, [status]);
}

/** Signed out: the sign-in page at whatever URL was asked for, so signing in lands there. */
function SessionGate() {
  const session = useSession();
  const t = useT();
  usePrefetchSignedIn(session.status);
  if (session.status === "restoring") return <LoadingState className="min-h-dvh" label={t.shell.resuming} />;
  if (session.status === "signed-out") return <SignInPage notice={session.reason} />;
  return <Outlet />;
}

const router = createBrowserRouter([
  // Public: the one-time link of an operator-issued password reset works without a session.
  { path: "reset-password", element: page(ResetPasswordPage) },
  {
    element: <SessionGate />,
    children: [
      {
        element: page(SignedInShell, "min-h-dvh"),
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
