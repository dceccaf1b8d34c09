/**
 * The one data table: typed columns, a caption for its accessible name, `th scope="col"` headers
 * (and `scope="row"` for a column that names its rows). Below the `sm` breakpoint (a phone) each
 * row becomes a card: cells stack as "header: value" lines, so no column is cut off and the page
 * never scrolls sideways; the same elements stay in the DOM (one set of rows for scripts and tests,
 * the table's semantics kept). Between `sm` and a wide screen the table scrolls inside its card.
 * No column sorts today (every list comes in the server's order), so the headers are plain text.
 */
import type { HTMLAttributes, ReactNode } from "react";

import { cn } from "@/lib/cn";

type DataAttributes = Partial<Record<`data-${string}`, string | number | boolean>>;

/** Attributes of a body row: classes, data-* hooks for tests and scripts. */
export type RowAttributes = HTMLAttributes<HTMLTableRowElement> & DataAttributes;

export interface Column<Row> {
  /** Unique among the table's columns (the React key). */
  id: string;
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  align?: "left" | "right";
  /** This column's cells name their rows (`<th scope="row">`). */
  rowHeader?: boolean;
  /** Classes on the header and every cell of the column (responsive hiding, widths). */
  className?: string;
  /** Classes on the body cells only (type, colour). */
  cellClassName?: string;
}

export interface DataTableProps<Row> {
  /** The table's accessible name (a <caption>); visually hidden unless captionVisible. */
  caption: string;
  captionVisible?: boolean;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  rowKey: (row: Row) => string;
  rowProps?: (row: Row) => RowAttributes;
  /** Rows for a <tfoot> (totals), laid out against the same columns. */
  footer?: ReactNode;
  /** Classes on the <table> (a min-width keeps wide tables scrolling instead of squeezing). */
  className?: string;
  bodyProps?: HTMLAttributes<HTMLTableSectionElement> & DataAttributes;
  /** Rows as cards on a phone (default); false keeps a table (for one that fits at 390 px). */
  cards?: boolean;
  /** The table scrolls in a box of its own (classes such as a max height): the box becomes a
   *  named, focusable region, so a keyboard can scroll it (WCAG 2.1.1). */
  scrollBox?: { label: string; className: string };
}

/** Padding of every cell; the outer columns line up with the card's own padding. */
export const cellPadding = "px-3 py-2 first:pl-4 last:pr-4 sm:first:pl-5 sm:last:pr-5";

const alignment = (align: Column<unknown>["align"]) => (align === "right" ? "text-right" : undefined);

/**
 * The phone layout, on the table's elements (Tailwind's max-sm: below 640 px): table, sections and
 * rows as blocks, each cell a flex line with its column's label first, the header row hidden (but
 * kept for assistive technology, like sr-only). A wide table's min-width gives way.
 */
const cardTable = "max-sm:block max-sm:min-w-0";
const cardHead = "max-sm:absolute max-sm:size-px max-sm:overflow-hidden max-sm:[clip:rect(0,0,0,0)]";
const cardBody = "max-sm:block max-sm:divide-y-0 max-sm:space-y-0";
const cardRow = "max-sm:block max-sm:border-b max-sm:border-slate-200 max-sm:py-2 max-sm:last:border-b-0";
const cardCell = "max-sm:flex max-sm:items-baseline max-sm:justify-between max-sm:gap-3 max-sm:px-4 max-sm:py-1 max-sm:text-right max-sm:break-words max-sm:min-w-0";
const cardFoot = "max-sm:block max-sm:[&_tr]:flex max-sm:[&_tr]:flex-wrap max-sm:[&_tr]:justify-between max-sm:[&_tr]:px-1 max-sm:[&_th]:block max-sm:[&_td]:block";

/** A cell's column label, shown only in the phone layout (screen readers get the real header). */
function CardLabel({ header }: { header: ReactNode }) {
  if (header === "" || header === null || header === undefined || header === false) return null;
  return (
    <span aria-hidden="true" className="shrink-0 text-left text-xs font-medium text-slate-500 sm:hidden">
      {header}
    </span>
  );
}

export function DataTable<Row>({ caption, captionVisible = false, columns, rows, rowKey, rowProps, footer, className, bodyProps, cards = true, scrollBox }: DataTableProps<Row>) {
  const card = (classes: string) => (cards ? classes : undefined);
  const box = scrollBox ? { tabIndex: 0, role: "region", "aria-label": scrollBox.label } : {};
  return (
    <div className={cn("overflow-x-auto", cards && "max-sm:overflow-x-visible", scrollBox?.className)} {...box}>
      <table className={cn("w-full text-sm", className, card(cardTable))}>
        <caption className={captionVisible ? "px-5 py-2 text-left text-sm font-medium text-slate-700" : "sr-only"}>{caption}</caption>
        <thead className={cn("bg-slate-50 text-left text-xs font-medium text-slate-500", card(cardHead))}>
          <tr>
            {columns.map((column) => (
              <th key={column.id} scope="col" className={cn(cellPadding, alignment(column.align), column.className)}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody {...bodyProps} className={cn("divide-y divide-slate-100", bodyProps?.className, card(cardBody))}>
          {rows.map((row) => {
            const attributes = rowProps?.(row);
            return (
              <tr key={rowKey(row)} {...attributes} className={cn(attributes?.className, card(cardRow))}>
                {columns.map((column) => {
                  const className = cn(cellPadding, alignment(column.align), column.className, column.cellClassName, card(cardCell));
                  const label = cards && <CardLabel header={column.header} />;
                  return column.rowHeader ? (
                    // A row header looks like its neighbours: only its role differs.
                    <th key={column.id} scope="row" className={cn(className, column.align !== "right" && "text-left", "font-normal")}>
                      {label}
                      {column.cell(row)}
                    </th>
                  ) : (
                    <td key={column.id} className={className}>
                      {label}
                      {column.cell(row)}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
        {footer !== undefined && <tfoot className={cn("border-t-2 border-slate-200 bg-slate-50 font-medium tabular-nums", card(cardFoot))}>{footer}</tfoot>}
      </table>
    </div>
  );
}
