/** Alert settings: the household's rules (thresholds and durations it sets) and its channels. */
import { useState, type SyntheticEvent } from "react";
import { useParams } from "react-router";

import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField, TextField } from "@/components/ui/field";
import { PageHeader } from "@/components/ui/page-header";
import { QueryState } from "@/components/ui/states";
import type { AlertRule } from "@/gen/energypulse/alert/v1/alert_pb";
import { errorMessage } from "@/lib/api-client";
import { fmtDecimal, fmtInteger, fmtMicroPerKwh, fmtPerKwh, minorPerKwhToMicro, perKwhUnit } from "@/lib/format";
import { messages, useT } from "@/lib/i18n";

import {
  useAlertRules,
  useCreateRule,
  useCreateSubscription,
  useDeleteRule,
  useDeleteSubscription,
  useSubscriptions,
  type RuleInput,
} from "../api/alert-rules";

type Kind = "priceSpike" | "cheapWindow" | "capacityStep" | "meterSilent";

const KINDS: readonly Kind[] = ["priceSpike", "cheapWindow", "capacityStep", "meterSilent"];

/** A rule's price in the unit it was set in: the installation's (micro per kWh, shown as the home
 *  page shows prices) or, for rules made before, EUR/MWh. */
function price(micro: bigint | undefined, eurMwh: number | undefined, currency: string): string | undefined {
  if (micro !== undefined) return fmtMicroPerKwh(micro, currency);
  return eurMwh === undefined ? undefined : messages().alerts.eurMwh(eurMwh);
}

export function describe(rule: AlertRule, currency: string): string {
  const c = rule.condition;
  const t = messages().alerts;
  switch (c.case) {
    case "priceSpike":
      return t.spike(price(c.value.thresholdMicroPerKwh, c.value.thresholdEurMwh, currency) ?? "", Math.round(c.value.minProbability * 100), c.value.lookaheadHours);
    case "cheapWindow": {
      const most = price(c.value.maxPriceMicroPerKwh, c.value.maxPriceEurMwh, currency);
      return t.cheap(c.value.durationMinutes / 60, c.value.lookaheadHours, most);
    }
    case "capacityStep":
      return t.capacity(c.value.approachPercent);
    case "meterSilent":
      return t.silent(c.value.silentMinutes);
    default:
      return "";
  }
}

/** `currency`: the installation's, whose minor unit per kWh the threshold is typed in ("" from a
 *  server that does not say: EUR/MWh, as before). */
/** The name of a rule the household left unnamed, in the page's language. */
export function defaultName(kind: Kind, a: number, currency: string): string {
  const t = messages().alerts.defaultName;
  switch (kind) {
    case "priceSpike":
      return t.priceSpike(currency ? fmtPerKwh(a, currency) : messages().alerts.eurMwh(a));
    case "cheapWindow":
      return t.cheapWindow(fmtDecimal(a, 0, 2));
    case "capacityStep":
      return t.capacityStep(fmtInteger(a));
    case "meterSilent":
      return t.meterSilent(fmtInteger(a));
  }
}

export function ruleInput(kind: Kind, a: number, b: number, name: string, currency: string): RuleInput {
  const displayName = name.trim() || defaultName(kind, a, currency);
  switch (kind) {
    case "priceSpike": {
      const threshold = currency ? { thresholdMicroPerKwh: minorPerKwhToMicro(a) } : { thresholdEurMwh: a };
      return { displayName, condition: { case: "priceSpike", value: { ...threshold, minProbability: b / 100, lookaheadHours: 24 } } };
    }
    case "cheapWindow":
      return { displayName, condition: { case: "cheapWindow", value: { durationMinutes: Math.round(a * 60), lookaheadHours: 24 } } };
    case "capacityStep":
      return { displayName, condition: { case: "capacityStep", value: { approachPercent: a } } };
    case "meterSilent":
      return { displayName, condition: { case: "meterSilent", value: { silentMinutes: a } } };
  }
}

// The labels come from the catalogue (alerts.first) when the field is shown.
const FIRST: Record<Kind, { value: number; step: string }> = {
  priceSpike: { value: 150, step: "any" },
  cheapWindow: { value: 4, step: "0.25" },
  capacityStep: { value: 90, step: "1" },
  meterSilent: { value: 30, step: "1" },
};

/** The first field of a kind; a price spike's threshold in the home page's unit (øre/kWh, c/kWh)
 *  when the server names the installation's currency. */
export function first(kind: Kind, currency: string): { label: string; value: number; step: string } {
  const t = messages().alerts;
  if (kind !== "priceSpike" || !currency) return { label: t.first[kind], ...FIRST[kind] };
  return { label: t.threshold(perKwhUnit(currency)), value: currency === "NOK" ? 150 : 15, step: "any" };
}

export function RulesCard({ householdId }: { householdId: string }) {
  const t = useT().alerts;
  const rules = useAlertRules(householdId);
  const currency = rules.data?.currency ?? "";
  const create = useCreateRule(householdId);
  const remove = useDeleteRule(householdId);
  const [kind, setKind] = useState<Kind>("cheapWindow");
  const [firstValue, setFirst] = useState(String(FIRST.cheapWindow.value));
  const [chance, setChance] = useState("50");
  const [name, setName] = useState("");

  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    create.mutate(ruleInput(kind, Number(firstValue), Number(chance), name, currency));
  };
  return (
    <Card>
      <CardHeader title={t.rules} description={t.rulesDescription} />
      <CardBody className="space-y-4">
        <QueryState query={rules}>
          {(data) =>
            data.rules.length === 0 ? (
              <p className="text-sm text-slate-600">{t.noRules}</p>
            ) : (
              <ul className="divide-y divide-slate-100" data-testid="alert-rules">
                {data.rules.map((r) => (
                  <li key={r.ruleId} className="flex flex-wrap items-center justify-between gap-2 py-2">
                    <div className="min-w-0">
                      <p className="text-sm font-medium text-slate-900">{r.displayName}</p>
                      <p className="text-sm text-slate-600">{describe(r, data.currency)}</p>
                    </div>
                    <Button variant="ghost" size="sm" onClick={() => remove.mutate(r.ruleId)} aria-label={t.deleteRule(r.displayName)}>
                      {t.delete}
                    </Button>
                  </li>
                ))}
              </ul>
            )
          }
        </QueryState>
        <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2" aria-label={t.newRule}>
          <SelectField
            label={t.alertMeAbout}
            value={kind}
            onChange={(e) => {
              const next = e.target.value as Kind;
              setKind(next);
              setFirst(String(first(next, currency).value));
            }}
          >
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t.kinds[k]}
              </option>
            ))}
          </SelectField>
          <TextField label={first(kind, currency).label} type="number" step={first(kind, currency).step} value={firstValue} onChange={(e) => setFirst(e.target.value)} required />
          {kind === "priceSpike" && <TextField label={t.chance} type="number" min={1} max={100} value={chance} onChange={(e) => setChance(e.target.value)} />}
          <TextField label={t.name} value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
          <div className="sm:col-span-2">
            <Button type="submit" disabled={create.isPending}>
              {t.addRule}
            </Button>
            {create.isError && (
              <p role="alert" className="mt-2 text-sm text-red-700">
                {errorMessage(create.error)}
              </p>
            )}
          </div>
        </form>
      </CardBody>
    </Card>
  );
}

function ChannelsCard({ householdId }: { householdId: string }) {
  const t = useT().alerts;
  const subs = useSubscriptions(householdId);
  const create = useCreateSubscription(householdId);
  const remove = useDeleteSubscription(householdId);
  const [url, setUrl] = useState("");
  const [host, setHost] = useState("");
  const [port, setPort] = useState("8883");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const secret = create.data?.signingSecret;

  return (
    <Card>
      <CardHeader title={t.channels} description={t.channelsDescription} />
      <CardBody className="space-y-4">
        <QueryState query={subs}>
          {(data) =>
            data.subscriptions.length === 0 ? (
              <p className="text-sm text-slate-600">{t.onlyApp}</p>
            ) : (
              <ul className="divide-y divide-slate-100" data-testid="alert-channels">
                {data.subscriptions.map((s) => (
                  <li key={s.subscriptionId} className="flex flex-wrap items-center justify-between gap-2 py-2">
                    <p className="min-w-0 break-all text-sm text-slate-800">
                      {s.target.case === "webhook" ? `Webhook ${s.target.value.url}` : s.target.case === "mqtt" ? `MQTT ${s.target.value.host}:${s.target.value.port}${s.target.value.tls ? " (TLS)" : ""}` : ""}
                    </p>
                    <Button variant="ghost" size="sm" onClick={() => remove.mutate(s.subscriptionId)}>
                      {t.remove}
                    </Button>
                  </li>
                ))}
              </ul>
            )
          }
        </QueryState>
        {secret && (
          <p className="break-all rounded-lg bg-amber-50 p-3 text-sm text-amber-900" data-testid="signing-secret">
            {t.secret} <code>{secret}</code>
          </p>
        )}
        <form
          className="flex flex-wrap items-end gap-3"
          aria-label={t.newWebhook}
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ target: { case: "webhook", value: { url } } });
          }}
        >
          <TextField className="min-w-0 flex-1" label={t.webhookUrl} type="url" placeholder="https://…" value={url} onChange={(e) => setUrl(e.target.value)} required />
          <Button type="submit" disabled={create.isPending}>
            {t.addWebhook}
          </Button>
        </form>
        <form
          className="grid gap-3 sm:grid-cols-2"
          aria-label={t.newBroker}
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ target: { case: "mqtt", value: { host, port: Number(port), tls: port === "8883", username, password } } });
          }}
        >
          <TextField label={t.brokerHost} value={host} onChange={(e) => setHost(e.target.value)} required />
          <TextField label={t.port} type="number" value={port} onChange={(e) => setPort(e.target.value)} />
          <TextField label={t.userName} value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" />
          <TextField label={t.password} type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
          <div className="sm:col-span-2">
            <Button type="submit" disabled={create.isPending}>
              {t.addBroker}
            </Button>
          </div>
        </form>
        {create.isError && (
          <p role="alert" className="text-sm text-red-700">
            {errorMessage(create.error)}
          </p>
        )}
      </CardBody>
    </Card>
  );
}

export function AlertsPage() {
  const { householdId = "" } = useParams();
  const t = useT().alerts;
  return (
    <div className="space-y-6">
      <PageHeader title={t.title} description={t.description} />
      <RulesCard householdId={householdId} />
      <ChannelsCard householdId={householdId} />
    </div>
  );
}
