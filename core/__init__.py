"""Discord-free core of the bot: image API client, decoding, delivery planning, storage.

Nothing in this package imports discord; the Discord surface lives in ``cogs/``.
"""
