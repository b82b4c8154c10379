"""The chat runtime: one update in, one transaction, replies out.

Owns the dispatcher, the handler context, routing, typed callback data and
conversation states. Channels and the scheduler call into it; feature modules
in ``handlers/`` register with it. It never imports a messenger library.
"""
