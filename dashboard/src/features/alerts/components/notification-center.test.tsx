/** Alerts read in the page's language where their typed fields say it all, else as alert_svc wrote them. */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { AlertKind, AlertSchema } from "@/gen/energypulse/alert/v1/alert_pb";
import { CATALOGUES } from "@/test/catalogues";

import { alertWords } from "./notification-center";

const silent = create(AlertSchema, {
  kind: AlertKind.METER_SILENT,
  periodStartTime: timestampFromMs(Date.UTC(2026, 11, 4, 9, 0)),
  value: 42.4,
  title: "Your meter stopped reporting (42 min)",
  message: "The last reading arrived 10:00. Check the meter's power and network.",
});

describe("alertWords", () => {
  it("words a silent meter from its fields in Norwegian", () => {
    const words = alertWords(silent, CATALOGUES["nb-NO"].notifications);
    expect(words.title).toBe("Måleren din har sluttet å rapportere (42 min)");
    expect(words.message).toMatch(/^Siste avlesning: .*2026.*\. Sjekk strømtilførselen og nettverket til måleren\.$/);
  });

  it("keeps alert_svc's text for a kind whose sentence holds values the Alert does not carry", () => {
    const spike = create(AlertSchema, { kind: AlertKind.PRICE_SPIKE, title: "Price above 120 øre/kWh 17:00-19:00", message: "60% chance the spot price exceeds 120 øre/kWh." });
    expect(alertWords(spike, CATALOGUES["nb-NO"].notifications)).toEqual({ title: spike.title, message: spike.message });
    // A silent-meter alert without its time (an older server) is not guessed at either.
    expect(alertWords({ ...silent, periodStartTime: undefined }, CATALOGUES["nb-NO"].notifications).title).toBe(silent.title);
  });
});
