import { useState, type SubmitEvent } from "react";

import { Button } from "@/components/ui/button";
import { LogoMark } from "@/components/ui/icons";
import { TextField } from "@/components/ui/field";
import { LocaleSwitch } from "@/components/ui/locale-switch";
import { errorMessage, SESSION_EXPIRED } from "@/lib/api-client";
import { useT } from "@/lib/i18n";

import { useLogin } from "../api/login";

export function SignInPage({ notice }: { notice?: string }) {
  const t = useT();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const mutation = useLogin();

  const submit = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    mutation.mutate({ username: username.trim(), password });
  };

  return (
    <div className="flex min-h-dvh">
      <div className="theme-fixed relative hidden flex-1 overflow-hidden bg-gradient-to-br from-brand-900 via-brand-800 to-slate-900 lg:block">
        <div className="absolute inset-0 opacity-20 [background:radial-gradient(circle_at_20%_30%,#5eead4_0,transparent_40%),radial-gradient(circle_at_80%_70%,#fbbf24_0,transparent_35%)]" />
        <div className="relative flex h-full flex-col justify-between p-12 text-white">
          <div className="flex items-center gap-3">
            <LogoMark />
            <span className="text-lg font-semibold tracking-tight">EnergyPulse</span>
          </div>
          <div className="max-w-md">
            <p className="text-3xl font-semibold leading-tight tracking-tight">{t.auth.tagline}</p>
            <p className="mt-4 text-sm text-brand-100/80">
              {t.auth.pitch}
            </p>
          </div>
          <p className="text-xs text-brand-100/60">{t.auth.footer}</p>
        </div>
      </div>
      <main className="flex flex-1 items-center justify-center px-4 py-12 sm:px-8">
        <div className="w-full max-w-sm">
          <div className="mb-8 flex items-center gap-3 lg:hidden">
            <LogoMark />
            <span className="text-lg font-semibold tracking-tight">EnergyPulse</span>
          </div>
          <h1 className="text-2xl font-semibold tracking-tight text-slate-900">{t.auth.signIn}</h1>
          <p className="mt-1 text-sm text-slate-500">{t.auth.useAccount}</p>
          <LocaleSwitch className="mt-3" />
          {notice && (
            <p role="status" className="mt-4 rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-800 ring-1 ring-amber-200">
              {notice === SESSION_EXPIRED ? t.auth.sessionExpired : notice}
            </p>
          )}
          <form className="mt-6 space-y-4" onSubmit={submit} noValidate aria-describedby={mutation.error ? "sign-in-error" : undefined}>
            <TextField label={t.auth.username} name="username" autoComplete="username" required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
            <TextField label={t.auth.password} name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            {mutation.error && (
              <p id="sign-in-error" role="alert" className="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700 ring-1 ring-rose-200">
                {errorMessage(mutation.error)}
              </p>
            )}
            <Button type="submit" className="w-full" loading={mutation.isPending} disabled={!username || !password}>
              {t.auth.signIn}
            </Button>
          </form>
        </div>
      </main>
    </div>
  );
}
