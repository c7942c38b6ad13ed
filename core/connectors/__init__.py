"""CRM connectors: pull what changed since a watermark and hand it over as canonical rows.

Pure of the database: a connector reads an HTTP API (`http.ApiClient`: retries, rate limits,
token refresh) and yields `Chunk`s of lead or touch rows, each with the stream's watermark once
its rows are stored. `core.services.sync` stores each chunk through the import path and moves
the watermark in the same transaction.

- `base`: Chunk, the Puller protocol, the errors a sync stops with.
- `http`: ApiClient, the one HTTP client every connector uses.
- `hubspot`: contacts, calls, emails and meetings (CRM v3 search, v4 associations).
- `salesforce`: Leads, converted Contacts and Opportunities, Tasks and Events (REST, SOQL).
"""
