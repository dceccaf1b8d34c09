"""Smart-meter simulator: synthetic households publishing readings over MQTT."""
