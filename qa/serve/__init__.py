"""UI: one server (:mod:`.server`) for the web chat (:mod:`.chat`) and the HTTP API (:mod:`.http_api`),
behind a guard (:mod:`.guard`: login and host names from :mod:`.access`, body limits, event payloads
checked by :mod:`.payload`), with uploads indexed in the background (:mod:`.indexer`)."""
