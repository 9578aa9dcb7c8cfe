"""Getting reports to the central server: a durable outbox and an idempotent uploader."""
