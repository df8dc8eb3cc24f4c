"""AI cost against customer revenue: the margins pages, the revenue upload and its API."""
