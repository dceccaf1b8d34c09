"""The README example: sign in as a household, read its summary, take live readings, see an error.

    EP_EDGE=127.0.0.1:8080 python sdk/python/examples/quickstart.py

Prints one JSON object per step (the end-to-end test reads them).
"""

from __future__ import annotations

import json
import os

import grpc
from energypulse_client import EnergyPulse, error_info

from energypulse.auth.v1 import auth_service_pb2
from energypulse.telemetry.v1 import telemetry_service_pb2


def main() -> None:
    edge = os.environ.get("EP_EDGE", "127.0.0.1:8080")
    username = os.environ.get("EP_USERNAME", "household-0001")
    password = os.environ.get("EP_PASSWORD", "")
    if not password:  # no default: every installation generates its own (./scripts/run prints it)
        raise SystemExit("set EP_PASSWORD to the household's password (./scripts/run prints the demo one)")
    with EnergyPulse(edge) as client:
        client.login(username, password)
        # Usernames are not household ids: the signed-in user lists the households it owns.
        me = client.auth.GetCurrentUser(auth_service_pb2.GetCurrentUserRequest(), timeout=10).user
        household = me.household_ids[0]
        print(json.dumps({"step": "login", "username": username, "householdId": household}))

        summary = client.telemetry.GetHouseholdSummary(
            telemetry_service_pb2.GetHouseholdSummaryRequest(household_id=household), timeout=10
        )
        print(
            json.dumps({"step": "unary", "householdId": summary.household_id, "todayKwh": summary.today_kwh})
        )

        stream = client.telemetry.StreamReadings(
            telemetry_service_pb2.StreamReadingsRequest(household_id=household), timeout=120
        )
        for received, message in enumerate(stream, start=1):
            print(json.dumps({"step": "stream", "meterId": message.reading.meter_id}))
            if received >= int(os.environ.get("EP_READINGS", "2")):
                stream.cancel()
                break

        try:
            client.telemetry.GetHouseholdSummary(
                telemetry_service_pb2.GetHouseholdSummaryRequest(household_id="someone-else"), timeout=10
            )
        except grpc.RpcError as error:
            info = error_info(error)
            code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
            print(json.dumps({"step": "error", "code": code, "reason": info.reason if info else None}))
        client.logout()


if __name__ == "__main__":
    main()
