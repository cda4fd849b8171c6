"""The web app's pages, one module per area; `api.web.pages` mounts them."""
