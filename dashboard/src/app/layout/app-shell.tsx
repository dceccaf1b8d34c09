import { useEffect, useState, type ReactNode } from "react";
import { NavLink, Outlet, useLocation, useNavigate } from "react-router";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Select } from "@/components/ui/field";
import { LocaleSwitch } from "@/components/ui/locale-switch";
import { AlertIcon, BlocksIcon, ChartIcon, DownloadIcon, HomeIcon, LogoMark, LogoutIcon, MenuIcon, ReceiptIcon, ShieldIcon, XIcon } from "@/components/ui/icons";
import { NotificationCenter } from "@/features/alerts/components/notification-center";
import { useLogout } from "@/features/auth/api/logout";
import { Role } from "@/gen/energypulse/auth/v1/user_pb";
import { cn } from "@/lib/cn";
import { clearForbidden, useForbidden } from "@/lib/forbidden";
import { isAdmin, useSession } from "@/lib/session";
import { messages, useT } from "@/lib/i18n";

import { useCurrentHousehold } from "../household-context";
import { NotAllowed } from "../routes/not-allowed";

interface NavItem {
  to: string;
  label: string;
  icon: ReactNode;
  end?: boolean;
}

function navItems(householdId: string | undefined, admin: boolean): NavItem[] {
  const t = messages().shell.nav;
  const items: NavItem[] = [];
  if (householdId) {
    const base = `/households/${encodeURIComponent(householdId)}`;
    items.push(
      { to: base, label: t.overview, icon: <HomeIcon />, end: true },
      { to: `${base}/history`, label: t.history, icon: <ChartIcon /> },
      { to: `${base}/invoices`, label: t.invoices, icon: <ReceiptIcon /> },
      { to: `${base}/schemes`, label: t.schemes, icon: <ChartIcon /> },
      { to: `${base}/export`, label: t.export, icon: <DownloadIcon /> },
      { to: `${base}/alerts`, label: t.alerts, icon: <AlertIcon /> },
    );
  }
  items.push({ to: "/ledger", label: t.ledger, icon: <BlocksIcon /> });
  if (admin) items.push({ to: "/admin", label: t.admin, icon: <ShieldIcon /> });
  return items;
}

function NavList({ items, onNavigate }: { items: NavItem[]; onNavigate?: () => void }) {
  return (
    <ul className="space-y-1">
      {items.map((item) => (
        <li key={item.to}>
          <NavLink
            to={item.to}
            end={item.end}
            onClick={onNavigate}
            className={({ isActive }) =>
              cn(
                "flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium transition-colors",
                isActive ? "bg-brand-700/60 text-white" : "text-slate-300 hover:bg-white/5 hover:text-white",
              )
            }
          >
            {item.icon}
            {item.label}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}

function HouseholdSwitcher({ current, options }: { current: string | undefined; options: string[] }) {
  const navigate = useNavigate();
  const location = useLocation();
  const t = useT();
  if (options.length <= 1 && current && options.includes(current)) {
    return (
      <span className="truncate text-sm text-slate-600" title={t.shell.householdTitle}>
        {t.shell.household} <span className="font-mono font-medium text-slate-800">{current}</span>
      </span>
    );
  }
  return (
    <label className="flex items-center gap-2 text-sm text-slate-600">
      <span className="hidden sm:inline">{t.shell.household}</span>
      <Select
        aria-label={t.shell.household}
        value={current ?? ""}
        onChange={(e) => {
          const next = encodeURIComponent(e.target.value);
          const match = /^\/households\/[^/]+(\/.*)?$/.exec(location.pathname);
          void navigate(`/households/${next}${match?.[1] ?? ""}`);
        }}
      >
        {current && !options.includes(current) && <option value={current}>{current}</option>}
        {options.map((id) => (
          <option key={id} value={id}>
            {id}
          </option>
        ))}
      </Select>
    </label>
  );
}

export function AppShell() {
  const session = useSession();
  const t = useT();
  const admin = isAdmin(session);
  const { householdId, options } = useCurrentHousehold();
  const items = navItems(householdId, admin);
  const [menuOpen, setMenuOpen] = useState(false);
  const logout = useLogout();
  const forbidden = useForbidden();
  const location = useLocation();

  // The "not allowed" panel belongs to the page that caused it.
  useEffect(() => {
    clearForbidden();
  }, [location.pathname]);
  // Navigating (by any means) closes the phone menu.
  const [menuPath, setMenuPath] = useState(location.pathname);
  if (menuPath !== location.pathname) {
    setMenuPath(location.pathname);
    setMenuOpen(false);
  }

  if (session.status !== "signed-in") return null;
  const roleLabel = t.shell.account[session.user.role === Role.ADMIN ? "admin" : session.user.role === Role.SERVICE ? "service" : "household"];

  // The language switch once per viewport: in the sidebar on desktop, in the header from tablet
  // width, and in the menu on a phone (its header has no room): `drawer` is the phone/tablet menu.
  const sidebar = (drawer: boolean, onNavigate?: () => void) => (
    <div className="theme-fixed flex h-full flex-col gap-6 bg-slate-900 px-4 py-5">
      <div className="flex items-center gap-3 px-2">
        <LogoMark />
        <span className="text-base font-semibold tracking-tight text-white">EnergyPulse</span>
      </div>
      <nav aria-label={t.shell.mainNav} className="flex-1">
        <NavList items={items} onNavigate={onNavigate} />
      </nav>
      <div className="rounded-lg bg-white/5 p-3">
        <p className="text-xs text-slate-300">{t.shell.signedInAs}</p>
        <p className="truncate text-sm font-medium text-white" data-testid="signed-in-user" title={t.shell.yourUsername}>
          {session.user.username}
        </p>
        <p className="text-xs text-slate-300">{roleLabel}</p>
        <LocaleSwitch dark className={cn("mt-2", drawer && "sm:hidden")} />
        <button
          type="button"
          className="mt-2 flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-sm font-medium text-slate-300 hover:bg-white/10 hover:text-white disabled:opacity-60"
          onClick={() => logout.mutate()}
          disabled={logout.isPending}
        >
          <LogoutIcon className="size-4" />
          {logout.isPending ? t.shell.signingOut : t.shell.signOut}
        </button>
      </div>
    </div>
  );

  return (
    <div className="min-h-dvh lg:flex">
      <a href="#main" className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        {t.shell.skipToContent}
      </a>
      {/* A full-height column whose content sticks: the dark band runs the page's whole length. */}
      <aside className="theme-fixed hidden w-60 shrink-0 bg-slate-900 lg:block">
        <div className="sticky top-0 h-dvh">{sidebar(false)}</div>
      </aside>
      {menuOpen && (
        <div className="fixed inset-0 z-40 lg:hidden" role="dialog" aria-modal="true" aria-label={t.shell.menu}>
          <button type="button" className="absolute inset-0 bg-slate-900/50" aria-label={t.shell.closeMenu} onClick={() => setMenuOpen(false)} />
          <div className="relative h-full w-64">{sidebar(true, () => setMenuOpen(false))}</div>
          <Button variant="ghost" size="sm" className="absolute top-4 left-68 bg-white" aria-label={t.shell.closeMenu} onClick={() => setMenuOpen(false)}>
            <XIcon />
          </Button>
        </div>
      )}
      <div className="min-w-0 flex-1">
      <header className="sticky top-0 z-30 flex h-14 items-center gap-3 border-b border-slate-200 bg-white/90 px-4 backdrop-blur sm:px-6">
        <Button variant="ghost" size="sm" className="lg:hidden" aria-label={t.shell.openMenu} aria-expanded={menuOpen} onClick={() => setMenuOpen(true)}>
          <MenuIcon />
        </Button>
        <div className="flex min-w-0 flex-1 items-center gap-3">{(householdId || options.length > 0) && <HouseholdSwitcher current={householdId} options={options} />}</div>
        {householdId && <NotificationCenter householdId={householdId} />}
        <LocaleSwitch className="hidden sm:inline-flex lg:hidden" />
        <Badge tone={admin ? "info" : "neutral"} title={t.shell.accountTitle}>{roleLabel}</Badge>
      </header>
      <main id="main" className="mx-auto max-w-7xl px-4 py-6 sm:px-6 lg:px-8">
        {forbidden ? <NotAllowed message={forbidden.message} /> : <Outlet />}
      </main>
      </div>
    </div>
  );
}
