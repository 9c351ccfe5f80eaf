"""XML layer: namespaces (:mod:`.ns`), the hardened parser (:mod:`.parse`), exclusive c14n
(:mod:`.c14n`), id lookup (:mod:`.ids`) and SOAP envelope access (:mod:`.soap`)."""
