"""Browser fixtures (filled in by the browser-test work): live_server, browser, page."""
