"""XML layer: namespaces (`.ns`), the hardened parser (`.parse`), exclusive c14n
(`.c14n`), id lookup (`.ids`) and SOAP envelope access (`.soap`)."""
