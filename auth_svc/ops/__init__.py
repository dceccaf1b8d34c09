"""The operator's view of the mesh (OpsService): a health monitor probing every replica of every
service, its bounded history, alerts and Prometheus gauges (``monitor``), and the RPC (``servicer``)."""
