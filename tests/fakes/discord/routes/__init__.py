"""The REST routes, one module per area of Discord's API."""
