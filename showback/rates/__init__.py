"""Exchange rates and the reporting currency: the rates page, the CSV upload, the settings page and
the API. The rules and the conversion live in the ledger's showback.fx."""
