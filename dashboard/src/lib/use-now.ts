import { useEffect, useState } from "react";

/** The current time, re-rendered every `stepMs` and rounded down to it (stable query keys). */
export function useNow(stepMs = 60_000): Date {
  const [now, setNow] = useState(() => new Date(Math.floor(Date.now() / stepMs) * stepMs));
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date(Math.floor(Date.now() / stepMs) * stepMs)), Math.min(stepMs, 60_000));
    return () => clearInterval(timer);
  }, [stepMs]);
  return now;
}

export function startOfLocalDay(date: Date): Date {
  const d = new Date(date);
  d.setHours(0, 0, 0, 0);
  return d;
}

export function addDays(date: Date, days: number): Date {
  const d = new Date(date);
  d.setDate(d.getDate() + days);
  return d;
}
