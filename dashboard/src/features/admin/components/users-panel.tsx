import { useState, type FormEvent } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
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

function CreateUserForm() {
  const create = useCreateUser();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>(Role.USER);
  const [households, setHouseholds] = useState("");
  const submit = (event: FormEvent) => {
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
          <SelectField label="Role" value={role} onChange={(e) => setRole(Number(e.target.value) as Role)}>
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

function UserRow({ user, self }: { user: User; self: boolean }) {
  const setRole = useSetRole();
  const disable = useDisableUser();
  const error = setRole.error ?? disable.error;
  return (
    <tr data-testid="user-row" data-username={user.username} className={user.disabled ? "bg-slate-50 text-slate-400" : undefined}>
      <td className="px-3 py-2.5 sm:px-5">
        <p className="font-medium text-slate-900">{user.username}</p>
        <p className="hidden font-mono text-xs text-slate-400 sm:block">{user.userId}</p>
        {/* Phones: the columns hidden below carry on here. */}
        <p className="mt-0.5 text-xs text-slate-500 sm:hidden">
          {user.householdIds.join(", ") || "no household"} · {user.disabled ? "disabled" : "active"}
        </p>
      </td>
      <td className="px-3 py-2.5">
        <Select
          className="min-w-24"
          aria-label={`Role of ${user.username}`}
          value={user.role}
          disabled={self || setRole.isPending}
          onChange={(e) => setRole.mutate({ userId: user.userId, role: Number(e.target.value) as Role })}
        >
          {user.role === Role.UNSPECIFIED && <option value={Role.UNSPECIFIED}>—</option>}
          {ROLES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </Select>
        {setRole.isSuccess && !setRole.isPending && <span role="status" className="ml-2 text-xs text-emerald-700">Saved</span>}
      </td>
      <td className="hidden px-3 py-2.5 text-slate-600 sm:table-cell">{user.householdIds.join(", ") || <span className="text-slate-400">—</span>}</td>
      <td className="hidden px-3 py-2.5 sm:table-cell">{user.disabled ? <Badge tone="bad">Disabled</Badge> : <Badge tone="good">Active</Badge>}</td>
      <td className="hidden px-3 py-2.5 whitespace-nowrap text-slate-600 md:table-cell">{fmtDate(tsDate(user.createTime))}</td>
      <td className="px-3 py-2.5 text-right sm:px-5">
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
        {error && <p role="alert" className="mt-1 text-xs text-rose-700">{errorMessage(error)}</p>}
      </td>
    </tr>
  );
}

export function UsersPanel() {
  const users = useUsers();
  const session = useSession();
  const selfId = session.status === "signed-in" ? session.user.userId : "";
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
          <div className="overflow-x-auto">
            <table className="w-full text-sm sm:min-w-[640px]">
              <thead className="bg-slate-50 text-left text-xs font-medium text-slate-500">
                <tr>
                  <th scope="col" className="px-3 py-2 sm:px-5">Account</th>
                  <th scope="col" className="px-3 py-2">Role</th>
                  <th scope="col" className="hidden px-3 py-2 sm:table-cell">Households</th>
                  <th scope="col" className="hidden px-3 py-2 sm:table-cell">Status</th>
                  <th scope="col" className="hidden px-3 py-2 md:table-cell">Created</th>
                  <th scope="col" className="px-3 py-2 text-right sm:px-5">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {users.data.users.map((u) => (
                  <UserRow key={u.userId} user={u} self={u.userId === selfId} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
