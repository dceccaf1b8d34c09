import type { ReactNode } from "react";

import { cn } from "@/lib/cn";

export function Stat({ label, value, sub, className, valueClassName, testId }: { label: ReactNode; value: ReactNode; sub?: ReactNode; className?: string; valueClassName?: string; testId?: string }) {
  return (
    <div className={cn("min-w-0", className)}>
      <dt className="truncate text-xs font-medium text-slate-500">{label}</dt>
      <dd data-testid={testId} className={cn("mt-1 text-2xl font-semibold tracking-tight text-slate-900 tabular-nums", valueClassName)}>
        {value}
      </dd>
      {sub && <dd className="mt-0.5 text-xs text-slate-500">{sub}</dd>}
    </div>
  );
}
