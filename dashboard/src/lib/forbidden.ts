/**
 * The central "not allowed" state: any 403 from the API lands here once, and the app shell shows
 * a single explanatory panel instead of every widget failing on its own.
 */
import { useSyncExternalStore } from "react";

export interface Forbidden {
  message: string;
  path: string;
}

let current: Forbidden | null = null;
const listeners = new Set<() => void>();

function emit(next: Forbidden | null): void {
  current = next;
  for (const listener of listeners) listener();
}

export function reportForbidden(message: string, path: string): void {
  if (current?.path === path && current.message === message) return;
  emit({ message, path });
}

export function getForbidden(): Forbidden | null {
  return current;
}

export function clearForbidden(): void {
  if (current) emit(null);
}

export function useForbidden(): Forbidden | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
    () => current,
  );
}
