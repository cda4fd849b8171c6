"""The web app at /app (see `api.web.pages`): server-rendered pages for buyers,
approvers, planners and viewers, on the same services as the API."""
