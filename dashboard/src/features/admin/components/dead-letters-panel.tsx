import { useState } from "react";

import { Badge } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { TextField } from "@/components/ui/field";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { fmtDateTime } from "@/lib/format";
import type { DeadLetter } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { useT, type Messages } from "@/lib/i18n";
import { tsDate } from "@/lib/proto-json";

import { useDeadLetters } from "../api/list-dead-letters";

function preview(payload: Uint8Array): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(payload.slice(0, 400));
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

function columnsIn(t: Messages["admin"]["deadLetters"]): Column<DeadLetter>[] {
  return [
  { id: "received", header: t.received, rowHeader: true, cell: (d) => fmtDateTime(tsDate(d.receiveTime)), cellClassName: "whitespace-nowrap text-slate-600" },
  { id: "reason", header: t.reason, cell: (d) => <Badge tone="warn">{d.reason}</Badge> },
  { id: "topic", header: t.topic, cell: (d) => d.topic, cellClassName: "font-mono text-xs text-slate-600" },
  {
    id: "detail",
    header: t.detail,
    cell: (d) => (
      <>
        <p className="text-slate-700">{d.detail}</p>
        <p className="mt-1 font-mono text-xs break-all text-slate-500">{preview(d.payload)}</p>
      </>
    ),
  },
  ];
}

export function DeadLettersPanel() {
  const t = useT().admin.deadLetters;
  const columns = columnsIn(t);
  const [reason, setReason] = useState("");
  const [applied, setApplied] = useState("");
  const letters = useDeadLetters(applied);
  return (
    <Card aria-labelledby="dead-letters-title">
      <CardHeader
        id="dead-letters-title"
        title={t.title}
        description={t.description}
        action={
          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              setApplied(reason.trim().toUpperCase());
            }}
          >
            <TextField label={t.filter} placeholder={t.filterPlaceholder} value={reason} onChange={(e) => setReason(e.target.value)} />
          </form>
        }
      />
      {letters.isPending ? (
        <LoadingState label={t.loading} />
      ) : letters.error ? (
        <ErrorState error={letters.error} onRetry={() => void letters.refetch()} />
      ) : letters.data.deadLetters.length === 0 ? (
        <EmptyState title={t.none} description={applied ? t.noneWith(applied) : t.allPassed} />
      ) : (
        <DataTable
          caption={t.title}
          className="min-w-[720px]"
          columns={columns}
          rows={letters.data.deadLetters}
          rowKey={(d) => d.deadLetterId.toString()}
          rowProps={() => ({ className: "align-top" })}
        />
      )}
    </Card>
  );
}
