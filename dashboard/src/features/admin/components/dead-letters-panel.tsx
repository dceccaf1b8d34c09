import { useState } from "react";

import { Badge } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { TextField } from "@/components/ui/field";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { fmtDateTime } from "@/lib/format";
import type { DeadLetter } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { tsDate } from "@/lib/proto-json";

import { useDeadLetters } from "../api/list-dead-letters";

function preview(payload: Uint8Array): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(payload.slice(0, 400));
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

const columns: Column<DeadLetter>[] = [
  { id: "received", header: "Received", rowHeader: true, cell: (d) => fmtDateTime(tsDate(d.receiveTime)), cellClassName: "whitespace-nowrap text-slate-600" },
  { id: "reason", header: "Reason", cell: (d) => <Badge tone="warn">{d.reason}</Badge> },
  { id: "topic", header: "Topic", cell: (d) => d.topic, cellClassName: "font-mono text-xs text-slate-600" },
  {
    id: "detail",
    header: "Detail / payload",
    cell: (d) => (
      <>
        <p className="text-slate-700">{d.detail}</p>
        <p className="mt-1 font-mono text-xs break-all text-slate-500">{preview(d.payload)}</p>
      </>
    ),
  },
];

export function DeadLettersPanel() {
  const [reason, setReason] = useState("");
  const [applied, setApplied] = useState("");
  const letters = useDeadLetters(applied);
  return (
    <Card aria-labelledby="dead-letters-title">
      <CardHeader
        id="dead-letters-title"
        title="Dead-lettered messages"
        description="Meter messages that failed validation, newest first"
        action={
          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              setApplied(reason.trim().toUpperCase());
            }}
          >
            <TextField label="Filter by reason" placeholder="e.g. SCHEMA_INVALID" value={reason} onChange={(e) => setReason(e.target.value)} />
          </form>
        }
      />
      {letters.isPending ? (
        <LoadingState label="Loading dead letters…" />
      ) : letters.error ? (
        <ErrorState error={letters.error} onRetry={() => void letters.refetch()} />
      ) : letters.data.deadLetters.length === 0 ? (
        <EmptyState title="No dead letters" description={applied ? `None with reason ${applied}.` : "Every message passed validation."} />
      ) : (
        <DataTable
          caption="Dead-lettered messages"
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
