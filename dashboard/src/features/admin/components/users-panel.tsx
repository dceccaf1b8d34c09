import { useMemo, useState, type SubmitEvent } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { Select, SelectField, TextField } from "@/components/ui/field";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Role, type User } from "@/gen/energypulse/auth/v1/user_pb";
import { errorMessage } from "@/lib/api-client";
import { fmtDate } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { useSession } from "@/lib/session";

import { useCreateUser } from "../api/create-user";
import { useDisableUser } from "../api/disable-user";
import { useUsers } from "../api/list-users";
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

function RoleCell({ user, self }: { user: User; self: boolean }) {
  const setRole = useSetRole();
  return (
    <>
      <Select
        className="min-w-24"
        aria-label={`Role of ${user.username}`}
        value={user.role}
        disabled={self || setRole.isPending}
        onChange={(e) => setRole.mutate({ userId: user.userId, role: roleOf(e.target.value) })}
      >
        {user.role === Role.UNSPECIFIED && <option value={Role.UNSPECIFIED}>—</option>}
        {ROLES.map((r) => (
          <option key={r.value} value={r.value}>
            {r.label}
          </option>
        ))}
      </Select>
      {setRole.isSuccess && <span role="status" className="ml-2 text-xs text-emerald-700">Saved</span>}
      {setRole.error && <p role="alert" className="mt-1 text-xs text-rose-700">{errorMessage(setRole.error)}</p>}
    </>
  );
}

function ActionsCell({ user, self }: { user: User; self: boolean }) {
  const disable = useDisableUser();
  return (
    <>
      <Button
        size="sm"
        variant={user.disabled ? "secondary" : "ghost"}
        disabled={self}
        loading={disable.isPending}
        onClick={() => disable.mutate({ userId: user.userId, disabled: !user.disabled })}
        aria-label={`${user.disabled ? "Enable" : "Disable"} ${user.username}`}
      >
        {user.disabled ? "Enable" : "Disable"}
      </Button>
      {disable.error && <p role="alert" className="mt-1 text-xs text-rose-700">{errorMessage(disable.error)}</p>}
    </>
  );
}

/** The account table's columns; `selfId` (the signed-in admin) cannot demote or disable itself. */
function userColumns(selfId: string): Column<User>[] {
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
    { id: "role", header: "Role", cell: (user) => <RoleCell user={user} self={user.userId === selfId} /> },
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
    { id: "actions", header: <span className="sr-only">Actions</span>, align: "right", cell: (user) => <ActionsCell user={user} self={user.userId === selfId} /> },
  ];
}

export function UsersPanel() {
  const users = useUsers();
  const session = useSession();
  const selfId = session.status === "signed-in" ? session.user.userId : "";
  const columns = useMemo(() => userColumns(selfId), [selfId]);
  return (
    <div className="space-y-4">
      <CreateUserForm />
      <Card aria-labelledby="users-title">
        <CardHeader id="users-title" title="Accounts" description="Role changes and disabling revoke the account's current sessions" />
        {users.isPending ? (
          <LoadingState label="Loading accounts…" />
        ) : users.error ? (
          <ErrorState error={users.error} onRetry={() => void users.refetch()} />
        ) : users.data.users.length === 0 ? (
          <EmptyState title="No accounts" />
        ) : (
          <DataTable
            caption="Accounts"
            className="sm:min-w-[640px]"
            columns={columns}
            rows={users.data.users}
            rowKey={(u) => u.userId}
            rowProps={(u) => ({ "data-testid": "user-row", "data-username": u.username, className: u.disabled ? "bg-slate-50 text-slate-500" : undefined })}
          />
        )}
      </Card>
    </div>
  );
}
