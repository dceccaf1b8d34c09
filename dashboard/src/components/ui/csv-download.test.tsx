// @vitest-environment jsdom
/**
 * The CSV button in jsdom with real clicks: no rows, no file (the message says so); rows, a file
 * (URL.createObjectURL is jsdom's gap: recorded to see the Blob handed over) and the message gone.
 */
import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { toCsv } from "@/lib/csv";

import { CsvDownloadButton, type CsvFile } from "./csv-download";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** jsdom's Blob has no text(); its FileReader reads one. */
function readBlob(blob: Blob | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!blob) { reject(new Error("no file was handed over")); return; }
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === "string" ? reader.result : "");
    reader.onerror = () => reject(reader.error ?? new Error("unreadable"));
    reader.readAsText(blob);
  });
}

function setup(file: () => CsvFile) {
  const blobs: Blob[] = [];
  vi.stubGlobal("URL", Object.assign(Object.create(URL) as typeof URL, { createObjectURL: (b: Blob) => (blobs.push(b), "blob:test"), revokeObjectURL: () => undefined }));
  render(<CsvDownloadButton build={file}>Download CSV</CsvDownloadButton>);
  return blobs;
}

describe("CsvDownloadButton", () => {
  it("says there is nothing to export instead of handing over a header-only file", async () => {
    const blobs = setup(() => ({ filename: "x.csv", text: toCsv(["time_utc", "kwh"], []), rows: 0, empty: "Nothing to export: no readings from 1 to 2 May." }));
    await userEvent.setup().click(screen.getByRole("button", { name: "Download CSV" }));
    expect(screen.getByRole("status").textContent).toBe("Nothing to export: no readings from 1 to 2 May. No file was downloaded.");
    expect(blobs).toHaveLength(0);
  });

  it("downloads the file when it has rows, and clears an earlier empty message", async () => {
    let rows: (string | number)[][] = [];
    const blobs = setup(() => ({ filename: "x.csv", text: toCsv(["time_utc", "kwh"], rows), rows: rows.length, empty: "Nothing to export." }));
    const user = userEvent.setup();
    const button = screen.getByRole("button", { name: "Download CSV" });
    await user.click(button);
    expect(screen.queryByRole("status")).not.toBeNull();
    rows = [["2026-05-01T00:00:00Z", 1.5]];
    await user.click(button);
    expect(screen.queryByRole("status")).toBeNull();
    expect(blobs).toHaveLength(1);
    expect(await readBlob(blobs[0])).toBe("time_utc,kwh\r\n2026-05-01T00:00:00Z,1.5\r\n");
  });
});
