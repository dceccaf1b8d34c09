import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { DataTable, type Column } from "./data-table";

interface Meter {
  id: string;
  kw: number;
  zone: string;
}

const columns: Column<Meter>[] = [
  { id: "id", header: "Meter", rowHeader: true, cell: (m) => m.id },
  { id: "kw", header: "Power", align: "right", cell: (m) => m.kw.toFixed(1), cellClassName: "tabular-nums" },
  { id: "zone", header: "Zone", className: "hidden sm:table-cell", cell: (m) => m.zone },
];
const rows: Meter[] = [
  { id: "m-1", kw: 1.25, zone: "NO1" },
  { id: "m-2", kw: 0.5, zone: "NO2" },
];

/** The opening tags named `tag` (with their attributes), in document order. */
function elements(html: string, tag: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>`, "g"))].map((m) => m[0]);
}

describe("DataTable", () => {
  const html = renderToStaticMarkup(
    <DataTable
      caption="Meters"
      columns={columns}
      rows={rows}
      rowKey={(m) => m.id}
      rowProps={(m) => ({ "data-testid": "meter", "data-meter": m.id })}
      bodyProps={{ "data-testid": "meters" }}
      footer={
        <tr>
          <th scope="row">Total</th>
          <td>1.8</td>
          <td />
        </tr>
      }
    />,
  );

  it("names the table with a visually hidden caption", () => {
    expect(html).toContain('<caption class="sr-only">Meters</caption>');
  });

  it("gives every column a scoped header and the row-header column scope=row cells", () => {
    const headers = elements(html, "th");
    expect(headers.slice(0, 3).every((th) => th.includes('scope="col"'))).toBe(true);
    expect(html).toMatch(/<th scope="col"[^>]*>Meter<\/th>/);
    expect(html).toMatch(/<th scope="row"[^>]*>(<span[^>]*>Meter<\/span>)?m-1<\/th>/);
    expect(html).toMatch(/<th scope="row"[^>]*>(<span[^>]*>Meter<\/span>)?m-2<\/th>/);
    expect(elements(html, "td")).toHaveLength(2 * 2 + 2); // two body cells per row, two in the footer
  });

  it("applies alignment and column classes to the header and the cells alike", () => {
    expect(html).toMatch(/<th scope="col" class="[^"]*text-right[^"]*">Power<\/th>/);
    expect(html).toMatch(/<td class="[^"]*text-right[^"]*tabular-nums[^"]*">(<span[^>]*>Power<\/span>)?1\.3<\/td>/);
    expect(elements(html, "th").filter((th) => th.includes("hidden sm:table-cell"))).toHaveLength(1);
    expect(elements(html, "td").filter((td) => td.includes("hidden sm:table-cell"))).toHaveLength(2);
  });

  it("renders rows in order with their attributes, the body's attributes and the footer", () => {
    const bodyRows = elements(html, "tr").filter((tr) => tr.includes('data-testid="meter"'));
    expect(bodyRows.map((tr) => /data-meter="([^"]+)"/.exec(tr)?.[1])).toEqual(["m-1", "m-2"]);
    expect(elements(html, "tbody")[0]).toContain('data-testid="meters"');
    expect(html).toMatch(/<tfoot[^>]*><tr><th scope="row">Total<\/th><td>1\.8<\/td><td><\/td><\/tr><\/tfoot>/);
  });

  it("turns rows into cards on a phone: every cell labelled with its header, hidden from wider screens and from screen readers", () => {
    expect(elements(html, "table")[0]).toContain("max-sm:block");
    expect(elements(html, "thead")[0]).toContain("max-sm:absolute");
    for (const label of ["Meter", "Power", "Zone"]) {
      expect(html).toContain(`<span aria-hidden="true" class="shrink-0 text-left text-xs font-medium text-slate-500 sm:hidden">${label}</span>`);
    }
    expect(html.match(/aria-hidden="true"[^>]*sm:hidden">Power</g)).toHaveLength(2); // one per row
    const flat = renderToStaticMarkup(<DataTable caption="Meters" cards={false} columns={columns} rows={rows} rowKey={(m) => m.id} />);
    expect(flat).not.toContain("max-sm:");
    expect(flat).not.toContain("aria-hidden");
  });

  it("can show its caption", () => {
    const shown = renderToStaticMarkup(<DataTable caption="Meters" captionVisible columns={columns} rows={[]} rowKey={(m) => m.id} />);
    expect(shown).not.toContain("sr-only");
    expect(shown).toContain(">Meters</caption>");
    expect(elements(shown, "tr")).toHaveLength(1); // the header row only
    expect(shown).not.toContain("<tfoot");
  });
});
