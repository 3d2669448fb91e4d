"""UI: one server (:mod:`.server`) for the web chat (:mod:`.chat`) and the HTTP API (:mod:`.http_api`),
behind a guard (:mod:`.guard`: login, body limits, upload checks), with uploads indexed in the
background (:mod:`.indexer`)."""
