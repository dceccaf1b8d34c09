"""alert_svc: households' alert rules, their evaluation and delivery (app, webhook, MQTT)."""
