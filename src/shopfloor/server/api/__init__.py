"""The REST API, one router per area; every route authenticates and is site-scoped."""
