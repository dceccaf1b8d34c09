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
import { tsDate } from "@/lib/proto-json";
import { useSession } from "@/lib/session";

import { useCreateUser } from "../api/create-user";
import { useDisableUser } from "../api/disable-user";
import { resetLink, useIssuePasswordReset } from "../api/issue-password-reset";
import { useLinkHousehold } from "../api/link-household";
import { USERS_PAGE_SIZE, useUsers } from "../api/list-users";
import { useSetRole } from "../api/set-role";

const ROLES = [
  { value: Role.USER, label: "User" },
  { value: Role.ADMIN, label: "Admin" },
  { value: Role.SERVICE, label: "Service" },
];

/** A <select>'s value back to the Role it was rendered from. */
function roleOf(value: string): Role {
  return ROLES.find((r) => String(r.value) === value)?.value ?? Role.UNSPECIFIED;
}

function CreateUserForm() {
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
      <CardHeader id="create-user-title" title="Create an account" />
      <CardBody>
        <form onSubmit={submit} className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-5 lg:items-end">
          <TextField label="Username" required value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" />
          <TextField label="Initial password" type="password" required value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
          <SelectField label="Role" value={role} onChange={(e) => setRole(roleOf(e.target.value))}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </SelectField>
          <TextField label="Households (comma-separated)" value={households} onChange={(e) => setHouseholds(e.target.value)} placeholder="household ids" />
          <Button type="submit" loading={create.isPending} disabled={!username || !password}>
            Create
          </Button>
        </form>
        {create.error && (
          <p role="alert" className="mt-3 text-sm text-rose-700">
            {errorMessage(create.error)}
          </p>
        )}
        {create.isSuccess && (
          <p role="status" className="mt-3 text-sm text-emerald-700">
            Created {create.data.user?.username}.
          </p>
        )}
      </CardBody>
    </Card>
  );
}

/** What an operator is about to do to an account, held until they confirm it. */
type PendingChange = { kind: "role"; user: User; role: Role } | { kind: "disable"; user: User; disabled: boolean };

function roleLabel(role: Role): string {
  return ROLES.find((r) => r.value === role)?.label ?? "None";
}

/** Role changes and disabling end the account's sessions: both wait for a confirmation. */
function ConfirmChangeDialog({ change, onClose }: { change: PendingChange | null; onClose: () => void }) {
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
      ? `Change ${change.user.username}'s role to ${roleLabel(change.role)}?`
      : `${change.disabled ? "Disable" : "Enable"} ${change.user.username}?`;
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
            This signs <strong>{change.user.username}</strong> out everywhere: every session ends now and the account signs in again
            {change.kind === "role" ? ` as ${roleLabel(change.role)}` : " only once re-enabled"}.
          </p>
        ) : (
          <p>The account can sign in again with its password.</p>
        )
      }
      footer={
        <>
          <Button variant="secondary" onClick={close}>
            Cancel
          </Button>
          <Button variant={ends ? "danger" : "primary"} loading={mutation.isPending} onClick={confirm}>
            {change?.kind === "role" ? "Change role" : change?.disabled ? "Disable account" : "Enable account"}
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
      title={`Reset ${user?.username ?? ""}'s password`}
      description={
        <p>
          Makes a one-time link for the account's owner to choose a new password. You never see the password; the link works once, for a
          limited time, and using it ends all of the account's sessions. Send it over a channel you trust.
        </p>
      }
      footer={
        issue.data ? (
          <Button onClick={close}>Done</Button>
        ) : (
          <>
            <Button variant="secondary" onClick={close}>
              Cancel
            </Button>
            <Button loading={issue.isPending} onClick={() => user && issue.mutate({ userId: user.userId })}>
              Create reset link
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
          <TextField label="Reset link (shown once)" readOnly value={link} onFocus={(e) => e.currentTarget.select()} data-testid="reset-link" />
          <p className="text-xs text-slate-600">Valid until {fmtDateTime(tsDate(issue.data.expireTime))}.</p>
          <Button size="sm" variant="secondary" onClick={() => void navigator.clipboard.writeText(link).catch(() => undefined)}>
            Copy link
          </Button>
        </div>
      )}
    </Dialog>
  );
}

function HouseholdsDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
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
      title={`Households of ${user?.username ?? ""}`}
      description={<p>Linking lets the account see a household; unlinking ends the account's sessions so the household stops working at once.</p>}
      footer={<Button onClick={close}>Done</Button>}
    >
      <ul className="space-y-1" aria-label="Linked households">
        {current?.householdIds.length ? (
          current.householdIds.map((h) => (
            <li key={h} className="flex items-center justify-between gap-2 rounded-lg bg-slate-50 px-3 py-1.5 text-sm">
              <span className="font-mono">{h}</span>
              <Button size="sm" variant="ghost" aria-label={`Unlink ${h}`} disabled={link.isPending} onClick={() => user && link.mutate({ userId: user.userId, householdId: h, unlink: true })}>
                Unlink
              </Button>
            </li>
          ))
        ) : (
          <li className="text-sm text-slate-600">No household linked.</li>
        )}
      </ul>
      <form onSubmit={submit} className="mt-3 flex items-end gap-2">
        <TextField className="flex-1" label="Household id to link" value={householdId} onChange={(e) => setHouseholdId(e.target.value)} placeholder="e.g. sim-h000042" autoComplete="off" />
        <Button type="submit" loading={link.isPending} disabled={!householdId.trim()}>
          Link
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
  return (
    <Select
      className="min-w-24"
      aria-label={`Role of ${user.username}`}
      value={user.role}
      disabled={self}
      onChange={(e) => actions.change({ kind: "role", user, role: roleOf(e.target.value) })}
    >
      {user.role === Role.UNSPECIFIED && <option value={Role.UNSPECIFIED}>—</option>}
      {ROLES.map((r) => (
        <option key={r.value} value={r.value}>
          {r.label}
        </option>
      ))}
    </Select>
  );
}

function ActionsCell({ user, self, actions }: { user: User; self: boolean; actions: RowActions }) {
  const service = user.role === Role.SERVICE;
  return (
    <div className="flex flex-wrap justify-end gap-1">
      <Button size="sm" variant="ghost" onClick={() => actions.households(user)} aria-label={`Households of ${user.username}`}>
        Households
      </Button>
      {!service && (
        <Button size="sm" variant="ghost" onClick={() => actions.resetPassword(user)} aria-label={`Reset password of ${user.username}`}>
          Reset password
        </Button>
      )}
      <Button
        size="sm"
        variant={user.disabled ? "secondary" : "ghost"}
        disabled={self}
        onClick={() => actions.change({ kind: "disable", user, disabled: !user.disabled })}
        aria-label={`${user.disabled ? "Enable" : "Disable"} ${user.username}`}
      >
        {user.disabled ? "Enable" : "Disable"}
      </Button>
    </div>
  );
}

/** The account table's columns; `selfId` (the signed-in admin) cannot demote or disable itself. */
function userColumns(selfId: string, actions: RowActions): Column<User>[] {
  return [
    {
      id: "account",
      header: "Account",
      rowHeader: true,
      cell: (user) => (
        <>
          <p className="font-medium text-slate-900">{user.username}</p>
          <p className="hidden font-mono text-xs text-slate-500 sm:block">{user.userId}</p>
          {/* Phones: the columns hidden below carry on here. */}
          <p className="mt-0.5 text-xs text-slate-500 sm:hidden">
            {user.householdIds.join(", ") || "no household"} · {user.disabled ? "disabled" : "active"}
          </p>
        </>
      ),
    },
    { id: "role", header: "Role", cell: (user) => <RoleCell user={user} self={user.userId === selfId} actions={actions} /> },
    {
      id: "households",
      header: "Households",
      className: "hidden sm:table-cell",
      cellClassName: "text-slate-600",
      cell: (user) => user.householdIds.join(", ") || <span className="text-slate-500">—</span>,
    },
    {
      id: "status",
      header: "Status",
      className: "hidden sm:table-cell",
      cell: (user) => (user.disabled ? <Badge tone="bad">Disabled</Badge> : <Badge tone="good">Active</Badge>),
    },
    { id: "created", header: "Created", className: "hidden md:table-cell", cellClassName: "whitespace-nowrap text-slate-600", cell: (user) => fmtDate(tsDate(user.createTime)) },
    { id: "actions", header: <span className="sr-only">Actions</span>, align: "right", cell: (user) => <ActionsCell user={user} self={user.userId === selfId} actions={actions} /> },
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
    () => userColumns(selfId, { change: setChange, resetPassword: setResetFor, households: setHouseholdsOf }),
    [selfId],
  );
  const page = tokens.length;
  const total = users.data?.totalSize ?? 0;
  const first = (page - 1) * USERS_PAGE_SIZE + 1;
  const shown = users.data?.users.length ?? 0;
  return (
    <div className="space-y-4">
      <CreateUserForm />
      <Card aria-labelledby="users-title">
        <CardHeader id="users-title" title="Accounts" description="Role changes and disabling end the account's current sessions; both ask first" />
        <CardBody className="pb-0">
          <TextField
            label="Search accounts"
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Username or household id"
            maxLength={64}
            hint="Matches any part of a username or household id, ignoring case."
          />
        </CardBody>
        {users.isPending ? (
          <LoadingState label="Loading accounts…" />
        ) : users.error ? (
          <ErrorState error={users.error} onRetry={() => void users.refetch()} />
        ) : users.data.users.length === 0 ? (
          <EmptyState title={query ? `No account matches "${query}"` : "No accounts"} />
        ) : (
          <>
            <DataTable
              caption="Accounts"
              className="sm:min-w-[640px]"
              columns={columns}
              rows={users.data.users}
              rowKey={(u) => u.userId}
              rowProps={(u) => ({ "data-testid": "user-row", "data-username": u.username, className: u.disabled ? "bg-slate-50 text-slate-500" : undefined })}
            />
            <nav aria-label="Account pages" className="flex flex-wrap items-center justify-between gap-2 border-t border-slate-100 px-4 py-3 sm:px-5">
              <p className="text-sm text-slate-600" data-testid="users-range" aria-live="polite" aria-busy={users.isPlaceholderData}>
                {/* While the next page loads the previous page's rows stay (keepPreviousData): no range until they are this page's. */}
                {users.isPlaceholderData ? "Loading…" : `${first}–${first + shown - 1} of ${fmtInteger(total)} ${query ? "matching " : ""}accounts`}
              </p>
              <div className="flex gap-2">
                <Button size="sm" variant="secondary" disabled={page === 1 || users.isFetching} onClick={() => setTokens((t) => t.slice(0, -1))}>
                  Previous
                </Button>
                <Button
                  size="sm"
                  variant="secondary"
                  disabled={!users.data.nextPageToken || users.isFetching}
                  onClick={() => setTokens((t) => [...t, users.data.nextPageToken])}
                >
                  Next
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
