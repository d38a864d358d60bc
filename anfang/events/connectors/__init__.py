"""Pull connectors: clients that subscribe to a device's own event stream (Dahua eventManager
`attach`) instead of waiting for the device to push. Each delivers what it receives as Payloads to
the same adapters and ingest path as the push endpoints."""
