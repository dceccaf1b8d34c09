import { useEffect, useMemo, useState, type SubmitEvent } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { Dialog } from "@/components/ui/dialog";
import { Select, SelectField, TextField } from "@/components/ui/field";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Role, type User } from "@/gen/energypulse/auth/v1/user_pb";
import { errorMessage } from "@/lib/api-client";
import { fmtDate, fmtDateTime, fmtInteger } from "@/lib/format";
import { messages, useT, type Messages } from "@/lib/i18n";
import { tsDate } from "@/lib/proto-json";
import { useSession } from "@/lib/session";

import { useCreateUser } from "../api/create-user";
import { useDisableUser } from "../api/disable-user";
import { resetLink, useIssuePasswordReset } from "../api/issue-password-reset";
import { useLinkHousehold } from "../api/link-household";
import { USERS_PAGE_SIZE, useUsers } from "../api/list-users";
import { useSetRole } from "../api/set-role";

// Labels from the catalogue (admin.users.roles) where they are shown.
const ROLES = [
  { value: Role.USER, key: "user" },
  { value: Role.ADMIN, key: "admin" },
  { value: Role.SERVICE, key: "service" },
] as const;

/** A <select>'s value back to the Role it was rendered from. */
function roleOf(value: string): Role {
  return ROLES.find((r) => String(r.value) === value)?.value ?? Role.UNSPECIFIED;
}

function CreateUserForm() {
  const t = useT().admin.users;
  const create = useCreateUser();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>(Role.USER);
  const [households, setHouseholds] = useState("");
  const submit = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    create.mutate(
      { username: username.trim(), password, role, householdIds: households.split(",").map((h) => h.trim()).filter(Boolean) },
      {
        onSuccess: () => {
          setUsername("");
          setPassword("");
          setHouseholds("");
        },
      },
    );
  };
  return (
    <Card aria-labelledby="create-user-title">
      <CardHeader id="create-user-title" title={t.create} />
      <CardBody>
        <form onSubmit={submit} className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-5 lg:items-end">
          <TextField label={t.username} required value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" />
          <TextField label={t.initialPassword} type="password" required value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
          <SelectField label={t.role} value={role} onChange={(e) => setRole(roleOf(e.target.value))}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {t.roles[r.key]}
              </option>
            ))}
          </SelectField>
          <TextField label={t.householdsField} value={households} onChange={(e) => setHouseholds(e.target.value)} placeholder={t.householdIds} />
          <Button type="submit" loading={create.isPending} disabled={!username || !password}>
            {t.createButton}
          </Button>
        </form>
        {create.error && (
          <p role="alert" className="mt-3 text-sm text-rose-700">
            {errorMessage(create.error)}
          </p>
        )}
        {create.isSuccess && (
          <p role="status" className="mt-3 text-sm text-emerald-700">
            {t.created(create.data.user?.username ?? "")}
          </p>
        )}
      </CardBody>
    </Card>
  );
}

/** What an operator is about to do to an account, held until they confirm it. */
type PendingChange = { kind: "role"; user: User; role: Role } | { kind: "disable"; user: User; disabled: boolean };

function roleLabel(role: Role): string {
  const roles = messages().admin.users.roles;
  const found = ROLES.find((r) => r.value === role);
  return found ? roles[found.key] : roles.none;
}

/** Role changes and disabling end the account's sessions: both wait for a confirmation. */
function ConfirmChangeDialog({ change, onClose }: { change: PendingChange | null; onClose: () => void }) {
  const t = useT().admin.users;
  const setRole = useSetRole();
  const disable = useDisableUser();
  const mutation = change?.kind === "role" ? setRole : disable;
  const confirm = () => {
    if (!change) return;
    const done = { onSuccess: onClose };
    if (change.kind === "role") setRole.mutate({ userId: change.user.userId, role: change.role }, done);
    else disable.mutate({ userId: change.user.userId, disabled: change.disabled }, done);
  };
  const close = () => {
    setRole.reset();
    disable.reset();
    onClose();
  };
  const title = !change
    ? ""
    : change.kind === "role"
      ? t.changeRole(change.user.username, roleLabel(change.role))
      : change.disabled
        ? t.disableUser(change.user.username)
        : t.enableUser(change.user.username);
  const ends = change && (change.kind === "role" || change.disabled);
  return (
    <Dialog
      open={change !== null}
      onClose={close}
      title={title}
      testId="confirm-dialog"
      description={
        ends ? (
          <p>
            {t.signsBefore}
            <strong>{change.user.username}</strong>
            {t.signsAfter(change.kind === "role" ? t.asRole(roleLabel(change.role)) : t.onceEnabled)}
          </p>
        ) : (
          <p>{t.canSignIn}</p>
        )
      }
      footer={
        <>
          <Button variant="secondary" onClick={close}>
            {t.cancel}
          </Button>
          <Button variant={ends ? "danger" : "primary"} loading={mutation.isPending} onClick={confirm}>
            {change?.kind === "role" ? t.changeRoleButton : change?.disabled ? t.disableAccount : t.enableAccount}
          </Button>
        </>
      }
    >
      {mutation.error && (
        <p role="alert" className="text-sm text-rose-700">
          {errorMessage(mutation.error)}
        </p>
      )}
    </Dialog>
  );
}

function ResetPasswordDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const t = useT().admin.users;
  const issue = useIssuePasswordReset();
  const close = () => {
    issue.reset();
    onClose();
  };
  const link = issue.data ? resetLink(issue.data.resetToken) : "";
  return (
    <Dialog
      open={user !== null}
      onClose={close}
      testId="reset-dialog"
      title={t.resetTitle(user?.username ?? "")}
      description={
        <p>{t.resetDescription}</p>
      }
      footer={
        issue.data ? (
          <Button onClick={close}>{t.done}</Button>
        ) : (
          <>
            <Button variant="secondary" onClick={close}>
              {t.cancel}
            </Button>
            <Button loading={issue.isPending} onClick={() => user && issue.mutate({ userId: user.userId })}>
              {t.createLink}
            </Button>
          </>
        )
      }
    >
      {issue.error && (
        <p role="alert" className="text-sm text-rose-700">
          {errorMessage(issue.error)}
        </p>
      )}
      {issue.data && (
        <div className="space-y-2">
          <TextField label={t.resetLink} readOnly value={link} onFocus={(e) => e.currentTarget.select()} data-testid="reset-link" />
          <p className="text-xs text-slate-600">{t.validUntil(fmtDateTime(tsDate(issue.data.expireTime)))}</p>
          <Button size="sm" variant="secondary" onClick={() => void navigator.clipboard.writeText(link).catch(() => undefined)}>
            {t.copyLink}
          </Button>
        </div>
      )}
    </Dialog>
  );
}

function HouseholdsDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const t = useT().admin.users;
  const link = useLinkHousehold();
  const [householdId, setHouseholdId] = useState("");
  const close = () => {
    link.reset();
    setHouseholdId("");
    onClose();
  };
  // The row's user is a snapshot: show the answer's account once there is one.
  const current = link.data?.user ?? user;
  const submit = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (user) link.mutate({ userId: user.userId, householdId: householdId.trim(), unlink: false }, { onSuccess: () => setHouseholdId("") });
  };
  return (
    <Dialog
      open={user !== null}
      onClose={close}
      testId="households-dialog"
      title={t.householdsOf(user?.username ?? "")}
      description={<p>{t.linkDescription}</p>}
      footer={<Button onClick={close}>{t.done}</Button>}
    >
      <ul className="space-y-1" aria-label={t.linked}>
        {current?.householdIds.length ? (
          current.householdIds.map((h) => (
            <li key={h} className="flex items-center justify-between gap-2 rounded-lg bg-slate-50 px-3 py-1.5 text-sm">
              <span className="font-mono">{h}</span>
              <Button size="sm" variant="ghost" aria-label={t.unlinkLabel(h)} disabled={link.isPending} onClick={() => user && link.mutate({ userId: user.userId, householdId: h, unlink: true })}>
                {t.unlink}
              </Button>
            </li>
          ))
        ) : (
          <li className="text-sm text-slate-600">{t.noHousehold}</li>
        )}
      </ul>
      <form onSubmit={submit} className="mt-3 flex items-end gap-2">
        <TextField className="flex-1" label={t.householdToLink} value={householdId} onChange={(e) => setHouseholdId(e.target.value)} placeholder={t.householdPlaceholder} autoComplete="off" />
        <Button type="submit" loading={link.isPending} disabled={!householdId.trim()}>
          {t.link}
        </Button>
      </form>
      {link.error && (
        <p role="alert" className="mt-2 text-sm text-rose-700">
          {errorMessage(link.error)}
        </p>
      )}
    </Dialog>
  );
}

interface RowActions {
  change: (c: PendingChange) => void;
  resetPassword: (u: User) => void;
  households: (u: User) => void;
}

function RoleCell({ user, self, actions }: { user: User; self: boolean; actions: RowActions }) {
  const t = useT().admin.users;
  return (
    <Select
      className="min-w-24"
      aria-label={t.roleOf(user.username)}
      value={user.role}
      disabled={self}
      onChange={(e) => actions.change({ kind: "role", user, role: roleOf(e.target.value) })}
    >
      {user.role === Role.UNSPECIFIED && <option value={Role.UNSPECIFIED}>—</option>}
      {ROLES.map((r) => (
        <option key={r.value} value={r.value}>
          {t.roles[r.key]}
        </option>
      ))}
    </Select>
  );
}

function ActionsCell({ user, self, actions }: { user: User; self: boolean; actions: RowActions }) {
  const t = useT().admin.users;
  const service = user.role === Role.SERVICE;
  return (
    <div className="flex flex-wrap justify-end gap-1">
      <Button size="sm" variant="ghost" onClick={() => actions.households(user)} aria-label={t.householdsOf(user.username)}>
        {t.households}
      </Button>
      {!service && (
        <Button size="sm" variant="ghost" onClick={() => actions.resetPassword(user)} aria-label={t.resetOf(user.username)}>
          {t.resetPassword}
        </Button>
      )}
      <Button
        size="sm"
        variant={user.disabled ? "secondary" : "ghost"}
        disabled={self}
        onClick={() => actions.change({ kind: "disable", user, disabled: !user.disabled })}
        aria-label={user.disabled ? t.enableLabel(user.username) : t.disableLabel(user.username)}
      >
        {user.disabled ? t.enable : t.disable}
      </Button>
    </div>
  );
}

/** The account table's columns; `selfId` (the signed-in admin) cannot demote or disable itself. */
function userColumns(selfId: string, actions: RowActions, t: Messages["admin"]["users"]): Column<User>[] {
  return [
    {
      id: "account",
      header: t.account,
      rowHeader: true,
      cell: (user) => (
        <>
          <p className="font-medium text-slate-900">{user.username}</p>
          <p className="hidden font-mono text-xs text-slate-500 sm:block">{user.userId}</p>
          {/* Phones: the columns hidden below carry on here. */}
          <p className="mt-0.5 text-xs text-slate-500 sm:hidden">
            {user.householdIds.join(", ") || t.noHouseholdShort} · {user.disabled ? t.disabledShort : t.activeShort}
          </p>
        </>
      ),
    },
    { id: "role", header: t.role, cell: (user) => <RoleCell user={user} self={user.userId === selfId} actions={actions} /> },
    {
      id: "households",
      header: t.households,
      className: "hidden sm:table-cell",
      cellClassName: "text-slate-600",
      cell: (user) => user.householdIds.join(", ") || <span className="text-slate-500">—</span>,
    },
    {
      id: "status",
      header: t.status,
      className: "hidden sm:table-cell",
      cell: (user) => (user.disabled ? <Badge tone="bad">{t.disabled}</Badge> : <Badge tone="good">{t.active}</Badge>),
    },
    { id: "created", header: t.createdColumn, className: "hidden md:table-cell", cellClassName: "whitespace-nowrap text-slate-600", cell: (user) => fmtDate(tsDate(user.createTime)) },
    { id: "actions", header: <span className="sr-only">{t.actions}</span>, align: "right", cell: (user) => <ActionsCell user={user} self={user.userId === selfId} actions={actions} /> },
  ];
}

/** The search box's text, applied once typing pauses (one request per pause, not per key). */
function useDebounced(value: string, ms = 300): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function UsersPanel() {
  const t = useT().admin.users;
  const [search, setSearch] = useState("");
  const query = useDebounced(search.trim());
  // Tokens of the pages before the current one, so "Previous" needs no second kind of token.
  // A new query starts again at its first page.
  const [paging, setPaging] = useState({ query, tokens: [""] });
  const tokens = paging.query === query ? paging.tokens : [""];
  const setTokens = (next: (t: string[]) => string[]) => setPaging({ query, tokens: next(tokens) });
  const pageToken = tokens[tokens.length - 1] ?? "";
  const users = useUsers(query, pageToken);
  const session = useSession();
  const selfId = session.status === "signed-in" ? session.user.userId : "";
  const [change, setChange] = useState<PendingChange | null>(null);
  const [resetFor, setResetFor] = useState<User | null>(null);
  const [householdsOf, setHouseholdsOf] = useState<User | null>(null);
  const columns = useMemo(
    () => userColumns(selfId, { change: setChange, resetPassword: setResetFor, households: setHouseholdsOf }, t),
    [selfId, t],
  );
  const page = tokens.length;
  const total = users.data?.totalSize ?? 0;
  const first = (page - 1) * USERS_PAGE_SIZE + 1;
  const shown = users.data?.users.length ?? 0;
  return (
    <div className="space-y-4">
      <CreateUserForm />
      <Card aria-labelledby="users-title">
        <CardHeader id="users-title" title={t.accounts} description={t.accountsDescription} />
        <CardBody className="pb-0">
          <TextField
            label={t.search}
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder={t.searchPlaceholder}
            maxLength={64}
            hint={t.searchHint}
          />
        </CardBody>
        {users.isPending ? (
          <LoadingState label={t.loading} />
        ) : users.error ? (
          <ErrorState error={users.error} onRetry={() => void users.refetch()} />
        ) : users.data.users.length === 0 ? (
          <EmptyState title={query ? t.noMatch(query) : t.none} />
        ) : (
          <>
            <DataTable
              caption={t.accounts}
              className="sm:min-w-[640px]"
              columns={columns}
              rows={users.data.users}
              rowKey={(u) => u.userId}
              rowProps={(u) => ({ "data-testid": "user-row", "data-username": u.username, className: u.disabled ? "bg-slate-50 text-slate-500" : undefined })}
            />
            <nav aria-label={t.pages} className="flex flex-wrap items-center justify-between gap-2 border-t border-slate-100 px-4 py-3 sm:px-5">
              <p className="text-sm text-slate-600" data-testid="users-range" aria-live="polite" aria-busy={users.isPlaceholderData}>
                {/* While the next page loads the previous page's rows stay (keepPreviousData): no range until they are this page's. */}
                {users.isPlaceholderData ? t.loadingPage : t.range(first, first + shown - 1, fmtInteger(total), query !== "")}
              </p>
              <div className="flex gap-2">
                <Button size="sm" variant="secondary" disabled={page === 1 || users.isFetching} onClick={() => setTokens((t) => t.slice(0, -1))}>
                  {t.previous}
                </Button>
                <Button
                  size="sm"
                  variant="secondary"
                  disabled={!users.data.nextPageToken || users.isFetching}
                  onClick={() => setTokens((t) => [...t, users.data.nextPageToken])}
                >
                  {t.next}
                </Button>
              </div>
            </nav>
          </>
        )}
      </Card>
      <ConfirmChangeDialog change={change} onClose={() => setChange(null)} />
      <ResetPasswordDialog user={resetFor} onClose={() => setResetFor(null)} />
      <HouseholdsDialog user={householdsOf} onClose={() => setHouseholdsOf(null)} />
    </div>
  );
}
