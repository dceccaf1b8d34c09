/** Alerts read in the page's language where their typed fields say it all, else as alert_svc wrote them. */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { AlertKind, AlertSchema } from "@/gen/energypulse/alert/v1/alert_pb";
import { setLocale } from "@/lib/i18n/locale";
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

  it("keeps alert_svc's text for an alert without its figures (raised before they existed)", () => {
    const spike = create(AlertSchema, { kind: AlertKind.PRICE_SPIKE, title: "Price above 120 øre/kWh 17:00-19:00", message: "60% chance the spot price exceeds 120 øre/kWh." });
    expect(alertWords(spike, CATALOGUES["nb-NO"].notifications)).toEqual({ title: spike.title, message: spike.message });
    // A silent-meter alert without its time (an older server) is not guessed at either.
    expect(alertWords({ ...silent, periodStartTime: undefined }, CATALOGUES["nb-NO"].notifications).title).toBe(silent.title);
  });

  describe("in Norwegian, numbers and times too", () => {
    beforeEach(() => setLocale("nb-NO", false));
    afterEach(() => setLocale("en-GB", false));
    const t = () => CATALOGUES["nb-NO"].notifications;
    const at = (h: number, m = 0) => timestampFromMs(Date.UTC(2026, 11, 4, h, m));

    it("a likely price spike: threshold, span, chance and forecast top", () => {
      const spike = create(AlertSchema, {
        kind: AlertKind.PRICE_SPIKE, currency: "NOK", spotMicroPerKwh: 1_840_000n, periodStartTime: at(16), periodEndTime: at(18),
        title: "Price above 150 øre/kWh Fri 17:00-19:00", message: "30% chance the spot price exceeds 150 øre/kWh (forecast up to 184.0 øre/kWh).",
        facts: { thresholdMicroPerKwh: 1_500_000n, chance: 0.3, published: false },
      });
      expect(alertWords(spike, t())).toEqual({
        title: "Pris over 150,0 øre/kWh, fre. 17:00–19:00",
        message: "30\u00a0% sjanse for at spotprisen går over 150,0 øre/kWh (prognose opptil 184,0 øre/kWh).",
      });
      expect(alertWords({ ...spike, facts: { ...spike.facts!, published: true } }, t()).message).toBe("Publiserte priser når 184,0 øre/kWh.");
    });

    it("a cheap window with a runner-up it cannot be told from", () => {
      const cheap = create(AlertSchema, {
        kind: AlertKind.CHEAP_WINDOW, currency: "NOK", spotMicroPerKwh: 460_000n, periodStartTime: at(1), periodEndTime: at(5),
        facts: { durationMinutes: 240, published: false, lowSpotMicroPerKwh: 400_000n, highSpotMicroPerKwh: 520_000n, twinStartTime: at(12), twinEndTime: at(16), twinSpotMicroPerKwh: 470_000n },
      });
      expect(alertWords(cheap, t())).toEqual({
        title: "Billigste 4 t: fre. 02:00–06:00",
        message: "Gjennomsnittlig spotpris 46,0 øre/kWh (trolig: inkluderer prognosetimer, 40,0 øre/kWh til 52,0 øre/kWh). fre. 13:00–17:00 kan ikke skilles fra det (47,0 øre/kWh): begge passer.",
      });
    });

    it("a capacity step ahead: basis, share, step and its monthly charge", () => {
      const capacity = create(AlertSchema, { kind: AlertKind.CAPACITY_STEP, currency: "NOK", value: 4.6, facts: { stepKw: 5, stepMonthlyNano: 320_000_000_000n } });
      const words = alertWords(capacity, t());
      expect(words.title).toBe("Effekttopp 4,6 kW: 92\u00a0% av effekttrinnet på 5 kW");
      expect(words.message).toContain("er 4,60 kW; fra 5 kW øker kapasitetsleddet i nettleien til 320\u00a0kr i måneden");
    });
  });
});
