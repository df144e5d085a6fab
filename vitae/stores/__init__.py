"""Clients for the three stores Vitae writes: blob storage, Cosmos DB and the PostgreSQL ledger."""
