/**
 * A "download CSV" button that never hands over a header-only file: when the export has no rows
 * it says so beside the button instead (issue #21). The file is built at click time, so the
 * message names what was empty then (a range or month the user may change afterwards).
 */
import { useState, type ReactNode } from "react";

import { downloadText } from "@/lib/csv";
import { useT } from "@/lib/i18n";

import { Button } from "./button";
import { DownloadIcon } from "./icons";

export interface CsvFile {
  filename: string;
  text: string;
  /** Data rows in `text` (the header not counted). */
  rows: number;
  /** What to say when `rows` is 0 ("No readings from 1 to 7 May."). */
  empty: string;
}

export function CsvDownloadButton({ build, disabled, children, testId }: { build: () => CsvFile; disabled?: boolean; children: ReactNode; testId?: string }) {
  const t = useT();
  const [empty, setEmpty] = useState<string | null>(null);
  const click = () => {
    const file = build();
    if (file.rows === 0) {
      setEmpty(`${file.empty} ${t.common.noFile}`);
      return;
    }
    setEmpty(null);
    downloadText(file.filename, file.text);
  };
  return (
    <>
      <Button variant="secondary" onClick={click} disabled={disabled} data-testid={testId}>
        <DownloadIcon className="size-4" />
        {children}
      </Button>
      {empty && (
        <p role="status" className="basis-full text-sm text-amber-800" data-testid="csv-empty">
          {empty}
        </p>
      )}
    </>
  );
}
