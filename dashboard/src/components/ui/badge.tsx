import type { ReactNode } from "react";

import { cn } from "@/lib/cn";

export type Tone = "neutral" | "good" | "bad" | "warn" | "info";

const tones: Record<Tone, string> = {
  neutral: "bg-slate-100 text-slate-700 ring-slate-200",
  good: "bg-emerald-50 text-emerald-700 ring-emerald-200",
  bad: "bg-rose-50 text-rose-700 ring-rose-200",
  warn: "bg-amber-50 text-amber-800 ring-amber-200",
  info: "bg-sky-50 text-sky-700 ring-sky-200",
};

export function Badge({ tone = "neutral", children, className, title }: { tone?: Tone; children: ReactNode; className?: string; title?: string }) {
  return (
    <span title={title} className={cn("inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium max-w-full ring-1 ring-inset [overflow-wrap:anywhere]", tones[tone], className)}>
      {children}
    </span>
  );
}

export function StatusDot({ tone, pulse = false, label }: { tone: Tone; pulse?: boolean; label?: string }) {
  const colors: Record<Tone, string> = { neutral: "bg-slate-400", good: "bg-emerald-500", bad: "bg-rose-500", warn: "bg-amber-500", info: "bg-sky-500" };
  return (
    <span className="relative inline-flex size-2.5" role={label ? "img" : undefined} aria-label={label}>
      {pulse && <span className={cn("absolute inline-flex size-full animate-ping rounded-full opacity-60", colors[tone])} />}
      <span className={cn("relative inline-flex size-2.5 rounded-full", colors[tone])} />
    </span>
  );
}
