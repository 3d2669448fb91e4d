"""search → answer: a question in, the best passages with highlights and an honest verdict out.
:class:`~.pipeline.Retriever` runs the stages (one module each); :mod:`.oneshot` is ``qa.ask`` and
``qa.retrieve``."""
