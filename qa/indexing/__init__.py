"""index: documents → passages (:mod:`.split`) → vectors (:mod:`.embed`) → a vector store
(:mod:`.stores`) and BM25 (:mod:`.bm25`), assembled into an :class:`Index` (:mod:`.assemble`), calibrated
for abstention (:mod:`.calibrate`), kept in an index folder (:mod:`.folder`, :mod:`.manifest`) and
synced with its corpus (:mod:`.collect`, :mod:`.build`)."""
