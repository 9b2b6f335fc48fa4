"""The event feeds, one module per feed: customers, touchpoints, conversions, opportunities, costs."""
