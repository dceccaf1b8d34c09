import { useState } from "react";

import { Button } from "@/components/ui/button";
import { TextField } from "@/components/ui/field";
import { errorMessage } from "@/lib/api-client";
import { useT } from "@/lib/i18n";

import { useRenameHousehold } from "../api/rename-household";

/** "Rename": the owner names the home (the page title shows the name). */
export function RenameHousehold({ householdId, name }: { householdId: string; name: string }) {
  const t = useT();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(name);
  const rename = useRenameHousehold();
  if (!editing) {
    return (
      <Button
        variant="secondary"
        size="sm"
        data-testid="rename-household"
        onClick={() => {
          setDraft(name);
          rename.reset();
          setEditing(true);
        }}
      >
        {t.home.rename}
      </Button>
    );
  }
  return (
    <form
      className="flex flex-wrap items-end gap-2 text-base font-normal"
      onSubmit={(e) => {
        e.preventDefault();
        rename.mutate({ householdId, displayName: draft }, { onSuccess: () => setEditing(false) });
      }}
    >
      <TextField
        label={t.home.nameLabel}
        value={draft}
        maxLength={80}
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
        hint={rename.error ? <span role="alert" className="text-rose-700">{errorMessage(rename.error, t)}</span> : t.home.nameHint}
        className="min-w-0 flex-1 sm:max-w-sm"
      />
      <Button type="submit" size="sm" disabled={rename.isPending}>
        {rename.isPending ? t.common.saving : t.common.save}
      </Button>
      <Button type="button" variant="ghost" size="sm" onClick={() => setEditing(false)}>
        {t.common.cancel}
      </Button>
    </form>
  );
}
