"""Front doors: one module per inbound wire format. A door parses its format into a ``Call`` and renders
answers, streams and errors in it; everything between runs through ``proxy.pipeline`` and
``proxy.executor``."""
