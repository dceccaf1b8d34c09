import { useState } from "react";

import { Badge } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { TextField } from "@/components/ui/field";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { fmtDateTime } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import { useDeadLetters } from "../api/list-dead-letters";

function preview(payload: Uint8Array): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(payload.slice(0, 400));
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

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
        <div className="overflow-x-auto">
          <table className="w-full min-w-[720px] text-sm">
            <thead className="bg-slate-50 text-left text-xs font-medium text-slate-500">
              <tr>
                <th scope="col" className="px-5 py-2">Received</th>
                <th scope="col" className="px-3 py-2">Reason</th>
                <th scope="col" className="px-3 py-2">Topic</th>
                <th scope="col" className="px-5 py-2">Detail / payload</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {letters.data.deadLetters.map((d) => (
                <tr key={d.deadLetterId.toString()} className="align-top">
                  <td className="px-5 py-2 whitespace-nowrap text-slate-600">{fmtDateTime(tsDate(d.receiveTime))}</td>
                  <td className="px-3 py-2">
                    <Badge tone="warn">{d.reason}</Badge>
                  </td>
                  <td className="px-3 py-2 font-mono text-xs text-slate-600">{d.topic}</td>
                  <td className="px-5 py-2">
                    <p className="text-slate-700">{d.detail}</p>
                    <p className="mt-1 font-mono text-xs break-all text-slate-400">{preview(d.payload)}</p>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
