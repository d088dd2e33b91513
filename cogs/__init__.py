"""The Discord surface: one extension per module, each ending in ``async def setup(bot)``."""
