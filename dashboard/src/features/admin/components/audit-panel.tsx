import { useMemo, useState, type SubmitEvent } from "react";

import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { SelectField, TextField } from "@/components/ui/field";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import type { AuditEvent } from "@/gen/energypulse/auth/v1/user_pb";
import { fmtDateTime } from "@/lib/format";
import { useT, type Messages } from "@/lib/i18n";
import { tsDate } from "@/lib/proto-json";

import { AUDIT_PAGE_SIZE, useAuditEvents, type AuditFilter } from "../api/list-audit-events";

/** The actions auth_svc records (auth_svc/accounts.py), for the filter's choices. */
const ACTIONS = [
  "LOGIN_SUCCEEDED",
  "LOGIN_FAILED",
  "LOGOUT",
  "REFRESH_TOKEN_REUSED",
  "USER_CREATED",
  "ROLE_SET",
  "USER_DISABLED",
  "USER_ENABLED",
  "PASSWORD_RESET",
  "PASSWORD_RESET_ISSUED",
  "PASSWORD_RESET_COMPLETED",
  "HOUSEHOLD_LINKED",
  "HOUSEHOLD_UNLINKED",
  "SIGNING_KEY_ROTATED",
];

const NO_FILTER: AuditFilter = { actor: "", action: "", startIso: "", endIso: "" };

/** A <input type="datetime-local"> value (local wall time) as an instant, or "" when empty/invalid. */
function localToIso(value: string): string {
  if (!value) return "";
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString();
}

function columnsIn(t: Messages["admin"]["audit"]): Column<AuditEvent>[] {
  return [
  { id: "time", header: t.time, rowHeader: true, cellClassName: "whitespace-nowrap text-slate-700", cell: (e) => fmtDateTime(tsDate(e.eventTime)) },
  { id: "actor", header: t.actor, cell: (e) => e.actor || <span className="text-slate-500">{t.unknown}</span> },
  { id: "action", header: t.action, cell: (e) => <span className="font-mono text-xs">{e.action}</span> },
  { id: "target", header: t.account, className: "hidden sm:table-cell", cell: (e) => e.target || <span className="text-slate-500">—</span> },
  { id: "detail", header: t.detail, className: "hidden md:table-cell", cellClassName: "break-words text-slate-600", cell: (e) => e.detail },
  { id: "client", header: t.client, className: "hidden lg:table-cell", cellClassName: "font-mono text-xs text-slate-600", cell: (e) => e.clientAddress },
  ];
}

export function AuditPanel() {
  const all = useT().admin;
  const t = all.audit;
  const [draft, setDraft] = useState({ actor: "", action: "", start: "", end: "" });
  const [filter, setFilter] = useState<AuditFilter>(NO_FILTER);
  // New filters start again at their first page.
  const [paging, setPaging] = useState({ filter, tokens: [""] });
  const tokens = paging.filter === filter ? paging.tokens : [""];
  const setTokens = (next: (t: string[]) => string[]) => setPaging({ filter, tokens: next(tokens) });
  const pageToken = tokens[tokens.length - 1] ?? "";
  const events = useAuditEvents(filter, pageToken);
  const columns = useMemo(() => columnsIn(t), [t]);
  const apply = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    setFilter({ actor: draft.actor.trim(), action: draft.action, startIso: localToIso(draft.start), endIso: localToIso(draft.end) });
  };
  const clear = () => {
    setDraft({ actor: "", action: "", start: "", end: "" });
    setFilter(NO_FILTER);
  };
  const page = tokens.length;
  return (
    <Card aria-labelledby="audit-title">
      <CardHeader id="audit-title" title={t.title} description={t.description} />
      <CardBody>
        <form onSubmit={apply} className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-5 lg:items-end" aria-label={t.filter}>
          <TextField label={t.actorField} value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} maxLength={128} autoComplete="off" />
          <SelectField label={t.action} value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })}>
            <option value="">{t.anyAction}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </SelectField>
          <TextField label={all.fromLocal} type="datetime-local" value={draft.start} onChange={(e) => setDraft({ ...draft, start: e.target.value })} />
          <TextField label={all.toLocal} type="datetime-local" value={draft.end} onChange={(e) => setDraft({ ...draft, end: e.target.value })} />
          <div className="flex gap-2">
            <Button type="submit">{t.apply}</Button>
            <Button variant="secondary" onClick={clear}>
              {t.clear}
            </Button>
          </div>
        </form>
      </CardBody>
      {events.isPending ? (
        <LoadingState label={t.loading} />
      ) : events.error ? (
        <ErrorState error={events.error} onRetry={() => void events.refetch()} />
      ) : events.data.events.length === 0 ? (
        <EmptyState title={t.none} description={t.noneSub} />
      ) : (
        <>
          <DataTable
            caption={t.caption}
            className="sm:min-w-[640px]"
            columns={columns}
            rows={events.data.events}
            rowKey={(e) => e.eventId}
            rowProps={(e) => ({ "data-testid": "audit-row", "data-action": e.action, "data-actor": e.actor })}
          />
          <nav aria-label={t.pages} className="flex flex-wrap items-center justify-between gap-2 border-t border-slate-100 px-4 py-3 sm:px-5">
            <p className="text-sm text-slate-600" aria-live="polite">
              {t.page(page, AUDIT_PAGE_SIZE)}
            </p>
            <div className="flex gap-2">
              <Button size="sm" variant="secondary" disabled={page === 1 || events.isFetching} onClick={() => setTokens((t) => t.slice(0, -1))}>
                {t.newer}
              </Button>
              <Button
                size="sm"
                variant="secondary"
                disabled={!events.data.nextPageToken || events.isFetching}
                onClick={() => setTokens((t) => [...t, events.data.nextPageToken])}
              >
                {t.older}
              </Button>
            </div>
          </nav>
        </>
      )}
    </Card>
  );
}
