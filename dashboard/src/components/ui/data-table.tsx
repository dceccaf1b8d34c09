/**
 * The one data table: typed columns, a caption for its accessible name, `th scope="col"` headers
 * (and `scope="row"` for a column that names its rows), horizontal scrolling on narrow screens.
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
}

/** Padding of every cell; the outer columns line up with the card's own padding. */
export const cellPadding = "px-3 py-2 first:pl-4 last:pr-4 sm:first:pl-5 sm:last:pr-5";

const alignment = (align: Column<unknown>["align"]) => (align === "right" ? "text-right" : undefined);

export function DataTable<Row>({ caption, captionVisible = false, columns, rows, rowKey, rowProps, footer, className, bodyProps }: DataTableProps<Row>) {
  return (
    <div className="overflow-x-auto">
      <table className={cn("w-full text-sm", className)}>
        <caption className={captionVisible ? "px-5 py-2 text-left text-sm font-medium text-slate-700" : "sr-only"}>{caption}</caption>
        <thead className="bg-slate-50 text-left text-xs font-medium text-slate-500">
          <tr>
            {columns.map((column) => (
              <th key={column.id} scope="col" className={cn(cellPadding, alignment(column.align), column.className)}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody {...bodyProps} className={cn("divide-y divide-slate-100", bodyProps?.className)}>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowProps?.(row)}>
              {columns.map((column) => {
                const className = cn(cellPadding, alignment(column.align), column.className, column.cellClassName);
                return column.rowHeader ? (
                  // A row header looks like its neighbours: only its role differs.
                  <th key={column.id} scope="row" className={cn(className, column.align !== "right" && "text-left", "font-normal")}>
                    {column.cell(row)}
                  </th>
                ) : (
                  <td key={column.id} className={className}>
                    {column.cell(row)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
        {footer !== undefined && <tfoot className="border-t-2 border-slate-200 bg-slate-50 font-medium tabular-nums">{footer}</tfoot>}
      </table>
    </div>
  );
}
