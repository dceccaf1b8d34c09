import type { ReactNode } from "react";

import { ApiError, errorMessage } from "@/lib/api-client";
import { cn } from "@/lib/cn";
import { useT } from "@/lib/i18n";

import { Button } from "./button";

export function Spinner({ className }: { className?: string }) {
  return <span className={cn("inline-block size-5 animate-spin rounded-full border-2 border-brand-600 border-r-transparent", className)} aria-hidden />;
}

export function LoadingState({ label, className }: { label?: string; className?: string }) {
  const t = useT();
  return (
    <div role="status" aria-live="polite" className={cn("flex min-h-24 items-center justify-center gap-3 text-sm text-slate-500", className)}>
      <Spinner />
      <span>{label ?? t.common.loading}</span>
    </div>
  );
}

export function Skeleton({ className }: { className?: string }) {
  return <div aria-hidden className={cn("animate-pulse rounded-md bg-slate-200/70", className)} />;
}

export function EmptyState({ title, description, icon, action, className }: { title: string; description?: ReactNode; icon?: ReactNode; action?: ReactNode; className?: string }) {
  return (
    <div className={cn("flex min-h-24 flex-col items-center justify-center gap-1 px-4 py-6 text-center", className)} data-state="empty">
      {icon && <div className="mb-1 text-slate-500">{icon}</div>}
      <p className="text-sm font-medium text-slate-700">{title}</p>
      {description && <p className="max-w-sm text-xs text-slate-500">{description}</p>}
      {action && <div className="mt-2">{action}</div>}
    </div>
  );
}

export function ErrorState({ error, title, onRetry, className }: { error: unknown; title?: string; onRetry?: () => void; className?: string }) {
  const t = useT();
  return (
    <div role="alert" data-state="error" className={cn("flex min-h-24 flex-col items-center justify-center gap-2 px-4 py-6 text-center", className)}>
      <p className="text-sm font-medium text-rose-700">{title ?? t.common.somethingWrong}</p>
      <p className="max-w-md text-xs break-words text-slate-600">{errorMessage(error)}</p>
      {error instanceof ApiError && error.reason && (
        <p className="font-mono text-[11px] text-slate-500" data-testid="error-reason">
          {error.reason}
        </p>
      )}
      {onRetry && (
        <Button variant="secondary" size="sm" onClick={onRetry}>
          {t.common.tryAgain}
        </Button>
      )}
    </div>
  );
}

/** Renders loading / error / empty / content for one query. */
export function QueryState<T>({
  query,
  isEmpty,
  empty,
  loadingLabel,
  children,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  loadingLabel?: string;
  children: (data: T) => ReactNode;
}) {
  const t = useT();
  if (query.isPending) return <LoadingState label={loadingLabel} />;
  if (query.error || query.data === undefined) return <ErrorState error={query.error ?? t.common.noData} onRetry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <>{empty ?? <EmptyState title={t.common.nothingYet} />}</>;
  return <>{children(query.data)}</>;
}
